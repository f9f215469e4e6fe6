/**
 * `sealsync start`: run the daemon in the foreground (suits systemd). JSON
 * logs go to stdout. On a fresh machine with no home yet it first runs init
 * with defaults and says so, so `npm start` just works. Stops on SIGINT,
 * SIGTERM or `sealsync stop`.
 */
import type { Command } from 'commander';
import { applyDaemonHeapFlags, loadDaemonHost, loadInitHome } from '../../api/offline.js';
import { homeOf } from '../home-option.js';
import type { CliIo } from '../main.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** Exit code when a second signal cuts a slow shutdown short. */
const EXIT_FORCED = 130;

export function registerStartCommand(program: Command, io: CliIo): void {
  program.command('start')
    .description('run the daemon in the foreground')
    .option('--ui-listen <host:port>', 'dashboard address for this run (beyond loopback needs HTTPS and a password)')
    .action(async (flags: { uiListen?: string }, cmd: Command) => {
      const paths = homeOf(cmd);
      // Before the daemon's modules load, while the young generation is still small (see daemon-heap.ts).
      applyDaemonHeapFlags();
      // Loaded here, not at the top: every other command would pay for the whole daemon's start-up.
      const { initHome, isInitialised } = await loadInitHome();
      const { startDaemonHost } = await loadDaemonHost();
      const { createLogger } = await import('../../logger.js');
      if (!(await isInitialised(paths.home))) {
        const result = await initHome({ home: paths.home });
        io.stderr(`sealsync: no home at ${paths.home}: initialised a new one (device id ${result.deviceId})\n`);
      }
      const logger = createLogger();
      const ac = new AbortController();
      // First signal: clean stop. A second one means the user is done waiting.
      const onSignal = (): void => {
        if (ac.signal.aborted) process.exit(EXIT_FORCED);
        ac.abort();
      };
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      try {
        const running = await startDaemonHost({ home: paths.home, logger, signal: ac.signal, ...(flags.uiListen !== undefined ? { uiListen: flags.uiListen } : {}) });
        await running.done;
      } finally {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
        logger.flush();
      }
    });
}

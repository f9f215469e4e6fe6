/**
 * `sealsync start`: run the daemon in the foreground (suits systemd). Logs go
 * to stdout: readable lines on a terminal, JSON lines otherwise (journald,
 * files, pipes); SEALSYNC_LOG_FORMAT=json|pretty chooses. Only the default
 * home is created on a first run (and it says so): a `--home` or
 * $SEALSYNC_HOME that holds no home is refused, so a mistyped path never
 * becomes a new device. Stops on SIGINT, SIGTERM or `sealsync stop`.
 */
import type { Command } from 'commander';
import { applyDaemonHeapFlags, loadDaemonHost, loadInitHome } from '../../api/offline.js';
import { SealsyncError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_FORCED } from '../exit-codes.js';
import { homeOf, homeSourceOf, sealsyncCommand } from '../home-option.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

function logFormat(): (typeof LOG_FORMATS)[number] {
  const env = process.env.SEALSYNC_LOG_FORMAT;
  if (env === undefined || env === '') return process.stdout.isTTY ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(env)) return env as (typeof LOG_FORMATS)[number];
  throw new SealsyncError('ERR_INVALID_ARGUMENT', `SEALSYNC_LOG_FORMAT must be json or pretty, not '${env.slice(0, 20)}'`);
}

export function registerStartCommand(program: Command, io: CliIo): void {
  program.command('start')
    .description('run the daemon in the foreground (Ctrl-C or `sealsync stop` stops it)')
    .option('--ui-listen <host:port>', 'dashboard address for this run (beyond loopback needs HTTPS and a password)')
    .action(async (flags: { uiListen?: string }, cmd: Command) => {
      const paths = homeOf(cmd);
      const cli = sealsyncCommand(cmd);
      const format = logFormat();
      // Before the daemon's modules load, while the young generation is still small (see daemon-heap.ts).
      applyDaemonHeapFlags();
      // Loaded here, not at the top: every other command would pay for the whole daemon's start-up.
      const { initHome, isInitialised } = await loadInitHome();
      const { startDaemonHost } = await loadDaemonHost();
      const { createLogger, createTerminalLogger } = await import('../../logger.js');
      if (!(await isInitialised(paths.home))) {
        const source = homeSourceOf(cmd);
        if (source !== 'default') {
          throw new SealsyncError('ERR_HOME_MISSING', `no sealsync home at ${paths.home} (${source === 'flag' ? '--home' : '$SEALSYNC_HOME'}): `
            + `check the path, or create one there with \`${cli} init\``);
        }
        const result = await initHome({ home: paths.home });
        io.stderr(`sealsync: first run: created a new home at ${paths.home} (device id ${result.deviceId})\n`);
      }
      const logger = format === 'pretty' ? await createTerminalLogger() : createLogger();
      const ac = new AbortController();
      // First signal: clean stop. A second one means the user is done waiting.
      const onSignal = (): void => {
        if (ac.signal.aborted) process.exit(EXIT_FORCED);
        ac.abort();
      };
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      try {
        const running = await startDaemonHost({ home: paths.home, logger, signal: ac.signal, ...(flags.uiListen !== undefined ? { uiListen: flags.uiListen } : {}) });
        const url = running.daemon.status().ui?.url;
        io.stderr(url
          ? `sealsync: running. Dashboard: ${url} — \`${cli} ui --open\` opens it logged in (\`${cli} ui\` prints a one-time link)\n`
          : `sealsync: running. Dashboard: off (\`${cli} config set webui.enabled true\`, then restart)\n`);
        await running.done;
      } finally {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
        logger.flush();
      }
    });
}

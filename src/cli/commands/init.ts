/**
 * `sealsync init`: create a home (device identity + config). Picks the sync
 * and dashboard ports once. Refuses an initialised home (ERR_HOME_EXISTS).
 */
import type { Command } from 'commander';
import { loadInitHome } from '../../api/offline.js';
import { SealsyncError } from '../../errors.js';
import { homeOf, sealsyncCommand } from '../home-option.js';
import type { CliIo } from '../cli-io.js';

interface InitFlags {
  name?: string;
  listen?: string;
  discovery: boolean;
  uiListen?: string;
  ui: boolean;
}

export function registerInitCommand(program: Command, io: CliIo): void {
  program.command('init')
    .description('create a device identity and config in the home')
    .option('--name <name>', 'device name (default: the host name)')
    .option('--listen <host:port>', 'sync address; port 0 picks a free port once (default 0.0.0.0:<random>)')
    .option('--no-discovery', 'do not announce or look for peers on the LAN')
    .option('--ui-listen <host:port>', 'dashboard address (default 127.0.0.1:<random>)')
    .option('--no-ui', 'no dashboard at all')
    .action(async (flags: InitFlags, cmd: Command) => {
      const paths = homeOf(cmd);
      if (!flags.ui && flags.uiListen !== undefined) {
        throw new SealsyncError('ERR_INVALID_ARGUMENT', 'use either --ui-listen or --no-ui, not both');
      }
      const { initHome } = await loadInitHome();
      const result = await initHome({
        home: paths.home,
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
        discovery: flags.discovery,
        uiListen: flags.ui ? flags.uiListen : false,
      });
      io.stdout(`Device id: ${result.deviceId}\n`);
      io.stdout(`Home:      ${paths.home}\n`);
      io.stdout(`Sync:      tcp://${result.config.listen}\n`);
      io.stdout(result.config.webui.enabled ? `Dashboard: http://${result.config.webui.listen}/\n` : 'Dashboard: off\n');
      io.stdout(`Start the daemon with \`${sealsyncCommand(cmd)} start\`.\n`);
    });
}

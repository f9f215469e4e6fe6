/**
 * `sealsync stop`: ask the running daemon to stop, then wait (bounded) until
 * it has released the home, so a following `start` never races it.
 */
import type { Command } from 'commander';
import { isProcessAlive, readLockPid } from '../../api/offline.js';
import { SealsyncError } from '../../errors.js';
import { clientOf, homeOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';

export const STOP_WAIT_MS = 15_000;
const STOP_POLL_MS = 50;

export function registerStopCommand(program: Command, io: CliIo): void {
  program.command('stop')
    .description('stop the running daemon')
    .action(async (_flags: unknown, cmd: Command) => {
      const paths = homeOf(cmd);
      const pid = await readLockPid(paths.lock);
      await clientOf(cmd).request('POST', '/api/stop', {});
      const deadline = Date.now() + STOP_WAIT_MS;
      while (Date.now() < deadline) {
        const holder = await readLockPid(paths.lock);
        if (holder === null || holder !== pid || !isProcessAlive(holder)) {
          io.stdout('daemon stopped\n');
          return;
        }
        await new Promise((r) => setTimeout(r, STOP_POLL_MS));
      }
      throw new SealsyncError('ERR_TIMEOUT', `the daemon did not stop within ${STOP_WAIT_MS / 1000} s`);
    });
}

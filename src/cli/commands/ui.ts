/**
 * `sealsync ui [--open]`: asks the running daemon (over the control socket)
 * for a one-time dashboard login URL — single use, valid two minutes — and
 * prints it, or opens it in the default browser.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { LoginTokenResponse } from '../../api/web-auth/control-routes.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';

/** The platform's "open this URL" program; the URL is one argv entry, never shell text. */
function openCommand(): string {
  if (process.platform === 'darwin') return 'open';
  if (process.platform === 'win32') return 'explorer';
  return 'xdg-open';
}

function openInBrowser(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(openCommand(), [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => { child.unref(); resolve(true); });
  });
}

export function registerUiCommand(program: Command, io: CliIo): void {
  program.command('ui')
    .description('print a one-time dashboard login URL (valid 2 minutes, single use)')
    .option('--open', 'open the URL in the default browser')
    .action(async (flags: { open?: boolean }, cmd: Command) => {
      const { url } = await clientOf(cmd).request<LoginTokenResponse>('POST', '/api/ui/login-token', {});
      if (flags.open && (await openInBrowser(url))) {
        io.stdout('Opened the dashboard in your browser (the link works once, for 2 minutes).\n');
        return;
      }
      if (flags.open) io.stderr('sealsync: could not start a browser; open this URL yourself:\n');
      io.stdout(`${url}\n`);
    });
}

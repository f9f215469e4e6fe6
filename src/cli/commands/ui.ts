/**
 * `sealsync ui [--open | --logout-all]`: asks the running daemon (over the
 * control socket) for a one-time dashboard login URL — single use, valid two
 * minutes — and prints it, or opens it in the default browser; or ends every
 * dashboard session at once.
 *
 * `--open` never puts the URL on a command line: any local user can read
 * every process's arguments (/proc/PID/cmdline, `ps`), and the browser keeps
 * its arguments for as long as it runs. The URL goes into a small page in the
 * home (0600, in the 0700 home) that sends the browser on, and the opener
 * gets only that file's path.
 */
import { spawn } from 'node:child_process';
import { unlink, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { LoginTokenResponse, LogoutAllResponse } from '../../api/web-auth/control-routes.js';
import { SealsyncError } from '../../errors.js';
import { clientOf, homeOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';

/** The platform's "open this file" program; the path is one argv entry, never shell text. */
function openCommand(): string {
  if (process.platform === 'darwin') return 'open';
  if (process.platform === 'win32') return 'explorer';
  return 'xdg-open';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The redirect page's text: no script, no referrer, a plain link if refresh is blocked. */
export function loginRedirectPage(url: string): string {
  const u = escapeHtml(url);
  return [
    '<!doctype html>',
    '<meta charset="utf-8">',
    '<meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0; url=${u}">`,
    '<title>sealsync dashboard</title>',
    `<p><a href="${u}">Open the sealsync dashboard</a> (this link works once, for 2 minutes).</p>`,
    '',
  ].join('\n');
}

/** Writes the page afresh (never through a file or link left at the path) with mode 0600. */
async function writeLoginPage(path: string, url: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  await writeFile(path, loginRedirectPage(url), { mode: 0o600, flag: 'wx' });
}

function openInBrowser(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(openCommand(), [file], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => { child.unref(); resolve(true); });
  });
}

export function registerUiCommand(program: Command, io: CliIo): void {
  program.command('ui')
    .description('print a one-time dashboard login URL (valid 2 minutes, single use)')
    .option('--open', 'open the dashboard in the default browser (the URL never appears on a command line)')
    .option('--logout-all', 'log every dashboard session out now')
    .action(async (flags: { open?: boolean; logoutAll?: boolean }, cmd: Command) => {
      if (flags.logoutAll) {
        if (flags.open) throw new SealsyncError('ERR_INVALID_ARGUMENT', '--open and --logout-all do not go together');
        const { loggedOut } = await clientOf(cmd).request<LogoutAllResponse>('POST', '/api/ui/logout-all', {});
        io.stdout(`Logged out ${loggedOut} dashboard session${loggedOut === 1 ? '' : 's'}.\n`);
        return;
      }
      const { url } = await clientOf(cmd).request<LoginTokenResponse>('POST', '/api/ui/login-token', {});
      if (flags.open) {
        const page = homeOf(cmd).uiLoginPage;
        await writeLoginPage(page, url);
        if (await openInBrowser(page)) {
          io.stdout('Opened the dashboard in your browser (the link works once, for 2 minutes).\n');
          return;
        }
        await unlink(page).catch(() => undefined);
        io.stderr('sealsync: could not start a browser; open this URL yourself:\n');
      }
      io.stdout(`${url}\n`);
    });
}

/**
 * `sealsync passwd`: sets the dashboard password. From stdin when it is not a
 * terminal (one line), else prompted twice without echo. Only the scrypt hash
 * is stored: through the running daemon (control socket), or, when no daemon
 * runs, written into config.json directly (atomically, 0600) while holding
 * the home lock so a daemon cannot start in between.
 */
import type { Command } from 'commander';
import type { Readable, Writable } from 'node:stream';
import { hashPassword, MAX_PASSWORD_BYTES, validateNewPassword } from '../../api/offline.js';
import { SealsyncError, isSealsyncError } from '../../errors.js';
import { clientOf, homeOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';

/** Bytes read from a piped stdin before giving up (a password is one short line). */
export const MAX_PASSWORD_INPUT_BYTES = MAX_PASSWORD_BYTES + 2;

/** Reads one line (the password) from a non-TTY stream; the trailing newline is not part of it. */
export async function readPasswordFromStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_PASSWORD_INPUT_BYTES * 4) throw new SealsyncError('ERR_PASSWORD', 'password is too long');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const firstLine = text.split(/\r?\n/)[0] ?? '';
  return firstLine;
}

/** Prompts on a TTY with echo off; resolves on Enter, rejects on Ctrl-C. */
function promptHidden(prompt: string, input: NodeJS.ReadStream, output: Writable): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let value = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const finish = (err: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err); else resolve(value);
    };
    const onData = (data: string): void => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new SealsyncError('ERR_ABORTED', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
        if (value.length > MAX_PASSWORD_BYTES) return finish(new SealsyncError('ERR_PASSWORD', 'password is too long'));
      }
    };
    input.on('data', onData);
  });
}

async function readNewPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return readPasswordFromStream(stdin);
  const first = await promptHidden('New dashboard password: ', stdin, process.stderr);
  validateNewPassword(first);
  const second = await promptHidden('Repeat it: ', stdin, process.stderr);
  if (first !== second) throw new SealsyncError('ERR_PASSWORD', 'the two passwords differ');
  return first;
}

/** Stores the hash in config.json directly (no daemon running). */
async function writeHashOffline(cmd: Command, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  const { updateConfigOffline } = await import('./config-file.js');
  await updateConfigOffline(homeOf(cmd), (config) => ({ ...config, webui: { ...config.webui, passwordHash } }));
}

export function registerPasswdCommand(program: Command, io: CliIo): void {
  program.command('passwd')
    .description('set the dashboard password (read from stdin when it is not a terminal)')
    .action(async (_flags: unknown, cmd: Command) => {
      const password = validateNewPassword(await readNewPassword());
      try {
        await clientOf(cmd).request('POST', '/api/ui/password', { password });
        io.stdout('Dashboard password set (existing dashboard sessions were logged out).\n');
      } catch (err) {
        if (!isSealsyncError(err, 'ERR_DAEMON_NOT_RUNNING')) throw err;
        await writeHashOffline(cmd, password);
        io.stdout('Dashboard password set.\n');
      }
    });
}

/**
 * Reading a key argument: `-` reads it from stdin, so it never shows in the
 * process list or shell history.
 */
import { SealsyncError } from '../errors.js';

/** Longest key read from stdin (`-`); a link with a name hint fits easily. */
export const MAX_STDIN_KEY_BYTES = 4096;
/** Several keys on stdin (`server setup --key -`): a few hundred keys at most. */
export const MAX_STDIN_KEYS_BYTES = 64 * 1024;

async function readStdin(stdin: NodeJS.ReadableStream, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += buf.length;
    if (total > limit) throw new SealsyncError('ERR_KEY_LENGTH', `${what} on stdin is far too long`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readKeyArgument(arg: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (arg !== '-') return arg;
  return (await readStdin(stdin, MAX_STDIN_KEY_BYTES, 'key')).trim();
}

/** Keys from stdin, one a line; blank lines and `#` comments are skipped. */
export async function readKeyLines(stdin: NodeJS.ReadableStream = process.stdin): Promise<string[]> {
  const text = await readStdin(stdin, MAX_STDIN_KEYS_BYTES, 'keys');
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length === 0) throw new SealsyncError('ERR_KEY_EMPTY', 'no key on stdin');
  return keys;
}

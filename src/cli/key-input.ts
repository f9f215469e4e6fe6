/**
 * Reading a key argument: `-` reads it from stdin, so it never shows in the
 * process list or shell history.
 */
import { SealsyncError } from '../errors.js';

export const MAX_STDIN_KEY_BYTES = 4096;

export async function readKeyArgument(arg: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (arg !== '-') return arg;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += buf.length;
    if (total > MAX_STDIN_KEY_BYTES) throw new SealsyncError('ERR_KEY_LENGTH', 'key on stdin is far too long');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

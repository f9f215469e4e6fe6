/**
 * The crash corpus: one text file per input that once crashed a decoder,
 * `corpus/<target>/<sha256 prefix>.hex`, with `#` comment lines saying how it
 * was found and what it did, then the input as hex. The regression test
 * (corpus.test.ts) replays every file against its target, so a fixed crash
 * stays fixed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_CORPUS_DIR = fileURLToPath(new URL('./corpus', import.meta.url));
const HEX_LINE_CHARS = 64;

export interface CorpusEntry {
  readonly target: string;
  readonly file: string;
  readonly input: Uint8Array;
}

/** Saves a crashing input; returns the file's path (the same input always gets the same file). */
export function saveCrash(dir: string, target: string, input: Uint8Array, notes: readonly string[]): string {
  const folder = join(dir, target);
  mkdirSync(folder, { recursive: true });
  const name = `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.hex`;
  const hex = Buffer.from(input).toString('hex');
  const lines = [`# target: ${target}`, ...notes.map((n) => `# ${n.replace(/[\r\n]+/g, ' ')}`)];
  for (let i = 0; i < hex.length; i += HEX_LINE_CHARS) lines.push(hex.slice(i, i + HEX_LINE_CHARS));
  const path = join(folder, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Parses a corpus file's text: comment lines are skipped, the rest is hex. */
export function parseCorpusText(text: string): Uint8Array {
  const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error('corpus file is not hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Every saved input, by target folder (a folder that names no target is reported by the caller). */
export function readCorpus(dir: string = DEFAULT_CORPUS_DIR): CorpusEntry[] {
  if (!existsSync(dir)) return [];
  const out: CorpusEntry[] = [];
  for (const target of readdirSync(dir).sort()) {
    const folder = join(dir, target);
    for (const name of readdirSync(folder).sort()) {
      if (!name.endsWith('.hex')) continue;
      const file = join(folder, name);
      out.push({ target, file, input: parseCorpusText(readFileSync(file, 'utf8')) });
    }
  }
  return out;
}

/**
 * Generates a test folder tree deterministically (seeded), and returns what a
 * scan must report: the count and total size of regular files that are not
 * ignored. `.sealignore` itself is a regular file and is counted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SEALIGNORE_NAME = '.sealignore';
/** Patterns the generated .sealignore excludes (gitignore syntax). */
export const IGNORE_RULES = ['*.tmp', 'build/'];

export interface TreeSpec {
  readonly files: number;
  /** Files per directory (directories nest two deep). */
  readonly filesPerDir?: number;
  /** Largest file size in bytes (sizes vary from 0 up to this). */
  readonly maxSize?: number;
  /** Extra ignored files written on top of `files`. */
  readonly ignoredFiles?: number;
  readonly seed?: number;
}

export interface TreeTotals {
  /** Regular files a scan must count (includes .sealignore). */
  readonly files: number;
  readonly bytes: number;
  /** Relative paths of the counted files (no .sealignore). */
  readonly paths: readonly string[];
}

/** Small deterministic PRNG (mulberry32), so a failing run can be reproduced. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function generateTree(root: string, spec: TreeSpec): Promise<TreeTotals> {
  const rand = prng(spec.seed ?? 1);
  const perDir = spec.filesPerDir ?? 100;
  const maxSize = spec.maxSize ?? 4096;
  const paths: string[] = [];
  let bytes = 0;
  const ignoreText = `${IGNORE_RULES.join('\n')}\n`;
  await mkdir(root, { recursive: true });
  await writeFile(join(root, SEALIGNORE_NAME), ignoreText);
  bytes += Buffer.byteLength(ignoreText);
  for (let i = 0; i < spec.files; i++) {
    const dirIndex = Math.floor(i / perDir);
    const rel = `d${Math.floor(dirIndex / 10)}/s${dirIndex % 10}/f${i}.dat`;
    if (i % perDir === 0) await mkdir(join(root, rel, '..'), { recursive: true });
    const size = Math.floor(rand() * maxSize);
    // Distinct content per file: its index, then a seeded byte pattern.
    const buf = Buffer.alloc(size, Math.floor(rand() * 256));
    buf.write(`${i}:`, 0, 'latin1');
    await writeFile(join(root, rel), buf);
    paths.push(rel);
    bytes += size;
  }
  const ignored = spec.ignoredFiles ?? 10;
  if (ignored > 0) {
    await mkdir(join(root, 'build'), { recursive: true });
    await mkdir(join(root, 'd0'), { recursive: true });
  }
  for (let i = 0; i < ignored; i++) {
    await writeFile(join(root, i % 2 === 0 ? `d0/ignored${i}.tmp` : `build/out${i}.bin`), Buffer.alloc(100 + i, 7));
  }
  return { files: paths.length + 1, bytes, paths };
}

/** Deterministic-size benchmark data sets, written quickly with random content. */
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { prng } from '../../test/e2e/helpers/tree.js';

const WRITE_CHUNK = 4 << 20;

export interface DataSet {
  readonly files: number;
  readonly bytes: number;
}

/** Writes `size` random bytes to `path` in bounded chunks (never the whole file in memory). */
export function writeRandomFile(path: string, size: number): void {
  const buf = Buffer.allocUnsafe(Math.min(WRITE_CHUNK, Math.max(size, 1)));
  const fd = openSync(path, 'w');
  try {
    let left = size;
    while (left > 0) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      writeSync(fd, buf, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

export function bigFiles(dir: string, count: number, each: number): DataSet {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeRandomFile(join(dir, `big-${i}.bin`), each);
  return { files: count, bytes: count * each };
}

/** One file of `size` random bytes (scenario h: the per-byte cost without any per-file cost). */
export function oneBigFile(dir: string, size: number): DataSet {
  mkdirSync(dir, { recursive: true });
  writeRandomFile(join(dir, 'one.bin'), size);
  return { files: 1, bytes: size };
}

export function smallFiles(dir: string, count: number, each: number, dirs: number): DataSet {
  const buf = Buffer.allocUnsafe(each);
  for (let d = 0; d < dirs; d++) mkdirSync(join(dir, `d${String(d).padStart(3, '0')}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    randomFillSync(buf);
    writeFileSync(join(dir, `d${String(i % dirs).padStart(3, '0')}`, `f${i}.dat`), buf);
  }
  return { files: count, bytes: count * each };
}

/** Smallest, median and largest file of the home-folder mix (scenario g). */
export const HOME_MIN_BYTES = 16;
export const HOME_MEDIAN_BYTES = 32 * 1024;
export const HOME_MAX_BYTES = 64 << 20;
/** Spread of the log-normal sizes (natural log): most files small, a few large ones carry the bytes. */
const HOME_SIGMA = 1.8;
const HOME_MAX_DEPTH = 6;

/**
 * A home folder: `count` files with log-normal sizes (median HOME_MEDIAN_BYTES,
 * clamped to HOME_MIN_BYTES..HOME_MAX_BYTES) in directories nested up to 6 deep.
 */
export function homeMix(dir: string, count: number, seed = 14): DataSet {
  const rnd = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const names = ['Documents', 'Photos', 'src', 'notes', '2024', 'archive', 'music', 'projects', 'misc', 'old'];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const depth = Math.floor(rnd() * (HOME_MAX_DEPTH + 1));
    const parts: string[] = [];
    for (let d = 0; d < depth; d++) parts.push(`${names[Math.floor(rnd() * names.length)]}-${d}`);
    const sub = join(dir, ...parts);
    mkdirSync(sub, { recursive: true });
    const size = Math.round(Math.min(HOME_MAX_BYTES, Math.max(HOME_MIN_BYTES, HOME_MEDIAN_BYTES * Math.exp(HOME_SIGMA * normal()))));
    writeRandomFile(join(sub, `file-${i}.dat`), size);
    bytes += size;
  }
  return { files: count, bytes };
}

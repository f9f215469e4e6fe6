/** Deterministic-size benchmark data sets, written quickly with random content. */
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';

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

export function smallFiles(dir: string, count: number, each: number, dirs: number): DataSet {
  const buf = Buffer.allocUnsafe(each);
  for (let d = 0; d < dirs; d++) mkdirSync(join(dir, `d${String(d).padStart(3, '0')}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    randomFillSync(buf);
    writeFileSync(join(dir, `d${String(i % dirs).padStart(3, '0')}`, `f${i}.dat`), buf);
  }
  return { files: count, bytes: count * each };
}

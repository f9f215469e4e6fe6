/**
 * The paths a full scan's walk reported, held as 64-bit hashes in one
 * open-addressing table (8 bytes per slot, at most half full): ~16 bytes per
 * path instead of a JS string and a Set entry (~100 bytes). A full scan asks
 * it, after the walk, which index rows the walk did not see (deletions), so
 * its memory no longer grows with a whole copy of the folder's rows.
 *
 * Two paths with the same 64-bit hash make the second look seen: a deleted
 * file would then not be tombstoned by this scan. The hash is seeded per set
 * (a folder's file names cannot be chosen to collide), and at a million paths
 * the chance of any collision is about 3e-8.
 */
import { randomBytes } from 'node:crypto';

const INITIAL_SLOTS = 1 << 12;

export class SeenPaths {
  /** Two 32-bit halves per slot; 0/0 marks an empty slot (a hash of 0/0 is stored as 0/1). */
  private table = new Uint32Array(INITIAL_SLOTS * 2);
  private count = 0;
  private readonly seedA: number;
  private readonly seedB: number;

  constructor() {
    const seed = randomBytes(8);
    this.seedA = seed.readUInt32LE(0);
    this.seedB = seed.readUInt32LE(4);
  }

  get size(): number {
    return this.count;
  }

  add(path: string): void {
    if ((this.count + 1) * 2 > this.table.length / 2) this.grow();
    if (this.insert(this.table, hash32(path, this.seedA), hash32(path, this.seedB) || 1)) this.count++;
  }

  has(path: string): boolean {
    const a = hash32(path, this.seedA);
    const b = hash32(path, this.seedB) || 1;
    const mask = this.table.length / 2 - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const sa = this.table[i * 2]!;
      const sb = this.table[i * 2 + 1]!;
      if (sb === 0) return false;
      if (sa === a && sb === b) return true;
    }
  }

  /** Linear probing; returns false when the hash was already there. */
  private insert(table: Uint32Array, a: number, b: number): boolean {
    const mask = table.length / 2 - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const sb = table[i * 2 + 1]!;
      if (sb === 0) {
        table[i * 2] = a;
        table[i * 2 + 1] = b;
        return true;
      }
      if (table[i * 2] === a && sb === b) return false;
    }
  }

  private grow(): void {
    const old = this.table;
    const next = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.insert(next, old[i]!, old[i + 1]!);
    this.table = next;
  }
}

/** MurmurHash3's 32-bit mix over UTF-16 code units, seeded. */
function hash32(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= s.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

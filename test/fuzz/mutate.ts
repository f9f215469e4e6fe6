/**
 * Byte mutation of valid encodings, AFL-style: bit flips, interesting bytes,
 * truncation, extension, splicing with another sample, overwriting a would-be
 * length field with boundary values, insertion and deletion of runs, and
 * dictionary tokens. Several mutations are stacked per input. Everything is
 * driven by a seeded PRNG, so (seed, index) reproduces an input exactly.
 */
import { concatBytes } from '../../src/crypto/bytes.js';

/** A small, fast, seedable PRNG (mulberry32): reproducible inputs, not cryptography. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Seed for item `index` of stream `seed`: distinct, well-mixed streams per index. */
  static derive(seed: number, index: number): Rng {
    let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    return new Rng(h ^ (h >>> 16));
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const words = n >>> 2;
    const view = new DataView(out.buffer);
    for (let i = 0; i < words; i++) view.setUint32(i * 4, this.u32());
    for (let i = words * 4; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export const MUTATIONS = [
  'bitflip', 'byte', 'truncate', 'extend', 'splice', 'length', 'insert', 'delete', 'duplicate', 'token',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x2f, 0x5c, 0x22, 0xc0, 0xed, 0xef, 0xf4];
const INTERESTING_INTS = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];

export interface MutateOptions {
  /** Another valid sample to splice with (none: splice becomes extension). */
  readonly donor?: Uint8Array;
  /** Tokens of the format (JSON punctuation, glob syntax, ...) for 'token'. */
  readonly dictionary?: readonly Uint8Array[];
  /** The result never grows past this. */
  readonly maxLength: number;
  /** How many mutations to stack (default: 1 to 4). */
  readonly count?: number;
}

/** Applies `count` mutations to a copy of `input`; returns the bytes and the names of what was done. */
export function mutate(input: Uint8Array, rng: Rng, opts: MutateOptions): { bytes: Uint8Array; applied: Mutation[] } {
  let bytes = input;
  const applied: Mutation[] = [];
  const count = opts.count ?? rng.between(1, 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(MUTATIONS);
    bytes = applyMutation(kind, bytes, rng, opts);
    if (bytes.length > opts.maxLength) bytes = bytes.subarray(0, opts.maxLength);
    applied.push(kind);
  }
  return { bytes: bytes === input ? input.slice() : bytes, applied };
}

/** One mutation; never modifies `bytes` in place. */
export function applyMutation(kind: Mutation, bytes: Uint8Array, rng: Rng, opts: MutateOptions): Uint8Array {
  const n = bytes.length;
  switch (kind) {
    case 'bitflip': {
      if (n === 0) return rng.bytes(1);
      const out = bytes.slice();
      const pos = rng.below(n);
      out[pos] = (out[pos] as number) ^ (1 << rng.below(8));
      return out;
    }
    case 'byte': {
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
      const out = bytes.slice();
      out[rng.below(n)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.u32() & 0xff;
      return out;
    }
    case 'truncate':
      // Cut anywhere, or (often) just before the end, where decoders check lengths.
      return bytes.slice(0, rng.chance(0.5) ? rng.below(n + 1) : Math.max(0, n - rng.between(1, 8)));
    case 'extend':
      return concat(bytes, rng.chance(0.5) ? rng.bytes(rng.between(1, 64)) : repeatTail(bytes, rng));
    case 'splice': {
      const donor = opts.donor ?? rng.bytes(rng.between(1, 64));
      return concat(bytes.subarray(0, rng.below(n + 1)), donor.subarray(rng.below(donor.length + 1)));
    }
    case 'length':
      return overwriteInt(bytes, rng);
    case 'insert': {
      const at = rng.below(n + 1);
      const run = rng.chance(0.5) ? rng.bytes(rng.between(1, 16)) : new Uint8Array(rng.between(1, 64)).fill(rng.pick(INTERESTING_BYTES));
      return concat(bytes.subarray(0, at), run, bytes.subarray(at));
    }
    case 'delete': {
      if (n === 0) return bytes;
      const at = rng.below(n);
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(n, at + rng.between(1, 16))));
    }
    case 'duplicate': {
      if (n === 0) return bytes;
      const at = rng.below(n);
      const piece = bytes.subarray(at, Math.min(n, at + rng.between(1, 64)));
      const to = rng.below(n + 1);
      return concat(bytes.subarray(0, to), piece, bytes.subarray(to));
    }
    case 'token': {
      const dict = opts.dictionary;
      const token = dict && dict.length > 0 ? rng.pick(dict) : Uint8Array.of(rng.pick(INTERESTING_BYTES));
      const at = rng.below(n + 1);
      // Insert, or replace as many bytes as the token is long.
      const end = rng.chance(0.5) ? at : Math.min(n, at + token.length);
      return concat(bytes.subarray(0, at), token, bytes.subarray(end));
    }
  }
}

/**
 * Writes a boundary value (0, 1, 2^k ± 1, the input's own length ± 1) as a
 * 1, 2, 4 or 8 byte big- or little-endian integer at a random offset: where a
 * length or count field sits, this is the classic over- or under-claim.
 */
function overwriteInt(bytes: Uint8Array, rng: Rng): Uint8Array {
  const width = rng.pick([1, 2, 4, 8]);
  if (bytes.length < width) return concat(bytes, rng.bytes(width));
  const out = bytes.slice();
  const at = rng.below(bytes.length - width + 1);
  const remaining = bytes.length - at - width;
  const base = rng.pick([...INTERESTING_INTS, bytes.length, remaining, rng.u32()]);
  const value = BigInt(Math.max(0, base + rng.between(-1, 1)));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const littleEndian = rng.chance(0.2);
  const max = (1n << BigInt(width * 8)) - 1n;
  const v = value > max ? max : value;
  if (width === 1) view.setUint8(at, Number(v));
  else if (width === 2) view.setUint16(at, Number(v), littleEndian);
  else if (width === 4) view.setUint32(at, Number(v), littleEndian);
  else view.setBigUint64(at, rng.chance(0.3) ? 0xffff_ffff_ffff_ffffn : v, littleEndian);
  return out;
}

function repeatTail(bytes: Uint8Array, rng: Rng): Uint8Array {
  if (bytes.length === 0) return rng.bytes(1);
  const tail = bytes.subarray(Math.max(0, bytes.length - rng.between(1, 32)));
  const times = rng.between(1, 64);
  const out = new Uint8Array(tail.length * times);
  for (let i = 0; i < times; i++) out.set(tail, i * tail.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/**
 * Version vectors: one logical counter per writer database (vector id).
 *
 * A vector is a sorted list of `{ id, value }` with unique ids and positive
 * values; a missing id counts as 0. `a` dominates `b` when every counter of a
 * is >= the one in b and at least one is greater. Two vectors that each have
 * a counter the other lacks are concurrent: neither write saw the other.
 *
 * Pure: no clock, no I/O. Vectors from peers must pass `validateVector` first;
 * the other functions assume valid input.
 */
import { SealsyncError } from '../errors.js';
import type { Counter, VectorOrder, VersionVector } from './types.js';

/** A vector grows by one entry per writing database; beyond this it is hostile. */
export const MAX_VECTOR_ENTRIES = 1024;

const VECTOR_ID_RE = /^[0-9a-f]{16}$/;

/** Throws ERR_INVALID_ARGUMENT unless `v` is a well-formed vector (sorted, unique, bounded). */
export function validateVector(v: unknown): VersionVector {
  if (!Array.isArray(v)) throw invalid('version vector must be an array');
  if (v.length > MAX_VECTOR_ENTRIES) throw invalid(`version vector has more than ${MAX_VECTOR_ENTRIES} entries`);
  let prev: string | undefined;
  for (const c of v as unknown[]) {
    if (typeof c !== 'object' || c === null) throw invalid('version vector entry must be an object');
    const { id, value } = c as Partial<Counter>;
    if (typeof id !== 'string' || !VECTOR_ID_RE.test(id)) throw invalid('version vector id must be 16 lowercase hex characters');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw invalid('version vector value must be a positive safe integer');
    }
    if (prev !== undefined && id <= prev) throw invalid('version vector ids must be sorted and unique');
    prev = id;
  }
  return v as VersionVector;
}

/**
 * Merge-walks two sorted vectors id by id (an id missing on one side gives
 * `undefined` there); stops early when `visit` returns false.
 */
function walkAligned(a: VersionVector, b: VersionVector, visit: (ca: Counter | undefined, cb: Counter | undefined) => boolean): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ca = a[i];
    const cb = b[j];
    let goOn: boolean;
    if (ca !== undefined && (cb === undefined || ca.id < cb.id)) {
      goOn = visit(ca, undefined);
      i++;
    } else if (cb !== undefined && (ca === undefined || cb.id < ca.id)) {
      goOn = visit(undefined, cb);
      j++;
    } else {
      goOn = visit(ca, cb);
      i++;
      j++;
    }
    if (!goOn) return;
  }
}

/** Order of `a` relative to `b`: 'greater' means a dominates b. */
export function compareVectors(a: VersionVector, b: VersionVector): VectorOrder {
  let aBigger = false;
  let bBigger = false;
  // An id missing on one side counts as 0.
  walkAligned(a, b, (ca, cb) => {
    const va = ca?.value ?? 0;
    const vb = cb?.value ?? 0;
    if (va > vb) aBigger = true;
    else if (va < vb) bBigger = true;
    return !(aBigger && bBigger);
  });
  if (aBigger && bBigger) return 'concurrent';
  if (aBigger) return 'greater';
  if (bBigger) return 'lesser';
  return 'equal';
}

/** Element-wise maximum: the smallest vector that dominates or equals both. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: Counter[] = [];
  walkAligned(a, b, (ca, cb) => {
    const larger = ca === undefined || (cb !== undefined && cb.value > ca.value) ? cb : ca;
    if (larger) out.push(larger);
    return true;
  });
  return out;
}

/**
 * A new version written by `vectorId`: its counter becomes max(all counters)+1,
 * so the result strictly dominates `v` (and anything `v` was merged from), and
 * a later write by this database sorts after any version it has seen.
 */
export function bumpVector(v: VersionVector, vectorId: string): VersionVector {
  if (!VECTOR_ID_RE.test(vectorId)) throw invalid('vector id must be 16 lowercase hex characters');
  let max = 0;
  for (const c of v) if (c.value > max) max = c.value;
  if (max >= Number.MAX_SAFE_INTEGER) throw invalid('version vector counter overflow');
  const next = max + 1;
  const out: Counter[] = [];
  let placed = false;
  for (const c of v) {
    if (!placed && c.id >= vectorId) {
      out.push({ id: vectorId, value: next });
      placed = true;
      if (c.id === vectorId) continue;
    }
    out.push(c);
  }
  if (!placed) out.push({ id: vectorId, value: next });
  if (out.length > MAX_VECTOR_ENTRIES) throw invalid(`version vector would exceed ${MAX_VECTOR_ENTRIES} entries`);
  return out;
}

/** The id of the counter with the highest value (the most recent writer), or '' for an empty vector. */
export function lastWriter(v: VersionVector): string {
  let best: Counter | undefined;
  for (const c of v) if (best === undefined || c.value > best.value || (c.value === best.value && c.id > best.id)) best = c;
  return best?.id ?? '';
}

/**
 * Canonical text of a vector (`id:value,id:value`), used as a stable key in the
 * index (records.version_key). Equal vectors give equal keys.
 */
export function vectorKey(v: VersionVector): string {
  return v.map((c) => `${c.id}:${c.value}`).join(',');
}

/** Inverse of vectorKey, validating the result. */
export function parseVectorKey(key: string): VersionVector {
  if (key === '') return [];
  const out: Counter[] = [];
  for (const part of key.split(',')) {
    const m = /^([0-9a-f]{16}):([0-9]{1,16})$/.exec(part);
    if (!m) throw invalid('malformed version key');
    out.push({ id: m[1] as string, value: Number(m[2]) });
  }
  return validateVector(out);
}

function invalid(message: string): SealsyncError {
  return new SealsyncError('ERR_INVALID_ARGUMENT', message);
}

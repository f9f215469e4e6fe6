/**
 * What the record and block targets share: one fixed folder (keys from a
 * fixed secret, so saved crash inputs replay against the same keys) and a
 * structure-aware generator of FileRecords within the format's limits.
 */
import fc from 'fast-check';
import { keysFromSecret, MAX_BLOCK_BYTES, MAX_MODE, MAX_SYMLINK_TARGET_BYTES } from '../../../src/crypto/index.js';
import type { Counter, FileRecord } from '../../../src/model/types.js';

export const FUZZ_FOLDER_KEYS = keysFromSecret(new Uint8Array(32).fill(0x5e));

/** A path segment: any Unicode (NFC), no '/', NUL, '.', '..' or empty. */
const segment = fc.string({ minLength: 1, maxLength: 12, unit: fc.oneof(fc.constant('a'), fc.constant('.'), fc.constant(' '), fc.constant('é'), fc.constant('e\u0301'), fc.constant('\\'), fc.constant(':'), fc.constant('🦀'), fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' })) })
  .map((s) => s.normalize('NFC').replace(/[/\0]/g, '_'))
  .filter((s) => s !== '' && s !== '.' && s !== '..');

export const recordPath = fc.array(segment, { minLength: 1, maxLength: 6 }).map((segs) => segs.join('/'));

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const vectorId = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));

/** Sorted by id, no duplicates, counters ≥ 1: the only vectors a record may carry. */
export const versionVector = fc.uniqueArray(vectorId, { maxLength: 6 }).chain((ids) =>
  fc.tuple(...ids.sort().map((id) => fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(Number.MAX_SAFE_INTEGER)).map((value): Counter => ({ id, value })))),
);

export const fileRecord: fc.Arbitrary<FileRecord> = fc.record({
  path: recordPath,
  kind: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
  size: fc.oneof(fc.nat({ max: 1 << 30 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  mtimeMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constantFrom(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -1)),
  mode: fc.integer({ min: 0, max: MAX_MODE }),
  blocks: fc.array(fc.record({ id: id32, hash: id32, size: fc.oneof(fc.nat({ max: 1 << 20 }), fc.constant(MAX_BLOCK_BYTES)) }), { maxLength: 4 }),
  target: fc.option(fc.string({ maxLength: 40, unit: 'grapheme' }).filter((t) => Buffer.byteLength(t) <= MAX_SYMLINK_TARGET_BYTES)),
  version: versionVector,
  deleted: fc.boolean(),
}).map(({ target, ...r }) => {
  // Only a live file has blocks (the sealed record's envelope says so, and sealing refuses others).
  const shaped = r.kind === 'file' && !r.deleted ? r : { ...r, blocks: [] };
  return r.kind === 'symlink' && target !== null ? { ...shaped, symlinkTarget: target } : shaped;
});

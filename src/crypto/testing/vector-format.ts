/**
 * JSON shapes of the published test vectors (test/vectors/*.json) and the
 * conversion of file records from them. Shared by the generator
 * (scripts/gen-vectors.ts) and the test that recomputes them.
 */
import type { FileRecord } from '../../model/types.js';
import { fromHex } from '../bytes.js';

export interface RecordJson {
  path: string;
  kind: FileRecord['kind'];
  size: number;
  mtimeMs: number;
  mode: number;
  /** `id` null: the record withholds its block ids (format 3). */
  blocks: Array<{ id: string | null; hash: string; size: number }>;
  symlinkTarget?: string;
  version: Array<{ id: string; value: number }>;
  deleted: boolean;
}

export function recordFromJson(j: RecordJson): FileRecord {
  return {
    path: j.path, kind: j.kind, size: j.size, mtimeMs: j.mtimeMs, mode: j.mode,
    blocks: j.blocks.map((b) => ({ id: b.id === null ? null : fromHex(b.id), hash: fromHex(b.hash), size: b.size })),
    version: j.version,
    deleted: j.deleted,
    ...(j.symlinkTarget !== undefined ? { symlinkTarget: j.symlinkTarget } : {}),
  };
}

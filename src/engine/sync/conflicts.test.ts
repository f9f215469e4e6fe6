import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVectors } from '../../model/version-vector.js';
import type { FileRecord } from '../../model/types.js';
import { conflictCopyPath, conflictCopyRecord, conflictLosers, dominatingVersion, resolvedRecord } from './conflicts.js';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const block = (n: number) => ({ id: new Uint8Array(32).fill(n), hash: new Uint8Array(32).fill(n), size: 10 });

function rec(version: FileRecord['version'], extra: Partial<FileRecord> = {}): FileRecord {
  return { path: 'docs/plan.md', kind: 'file', size: 10, mtimeMs: Date.UTC(2026, 0, 2, 3, 4, 5), mode: 0o644, blocks: [block(1)], version, deleted: false, ...extra };
}

test('the conflict copy name depends only on the loser (same on every peer)', () => {
  const loser = rec([{ id: A, value: 2 }, { id: B, value: 1 }]);
  assert.equal(conflictCopyPath(loser), 'docs/plan.sync-conflict-20260102-030405-AAAAAAA.md');
  assert.equal(conflictCopyPath({ ...loser }), conflictCopyPath(loser));
  assert.notEqual(conflictCopyPath(rec([{ id: B, value: 3 }])), conflictCopyPath(loser));
});

test('the resolved version dominates every version held, and the copy dominates what its path had', () => {
  const x = rec([{ id: A, value: 2 }]);
  const y = rec([{ id: B, value: 5 }], { blocks: [block(2)] });
  const resolved = resolvedRecord(y, [x.version, y.version], C);
  for (const v of [x.version, y.version]) assert.equal(compareVectors(resolved.version, v), 'greater');
  assert.deepEqual(resolved.blocks, y.blocks, 'the winner content');
  const existing = [{ id: B, value: 7 }];
  const copy = conflictCopyRecord(x, existing, C);
  assert.equal(copy.path, conflictCopyPath(x));
  assert.equal(compareVectors(copy.version, existing), 'greater');
  assert.deepEqual(dominatingVersion([], C), [{ id: C, value: 1 }]);
});

test('only live, concurrent versions with other content lose as copies', () => {
  const winner = rec([{ id: A, value: 2 }]);
  const other = rec([{ id: B, value: 1 }], { blocks: [block(3)] });
  const same = rec([{ id: C, value: 1 }]);
  const deleted = rec([{ id: C, value: 2 }], { deleted: true, blocks: [], size: 0 });
  assert.deepEqual(conflictLosers(winner, [winner, other, same, deleted]), [other]);
});

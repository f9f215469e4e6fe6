import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflictName, conflictTimeFromMs, needFor, pickWinner, compareByWinnerRule, sameFileState } from './needs.js';
import { MAX_NAME_BYTES } from './path.js';
import type { FileRecord, VersionVector } from './types.js';

const A = '00000000000000aa';
const B = '00000000000000bb';

function rec(version: VersionVector, over: Partial<FileRecord> = {}): FileRecord {
  const hash = new Uint8Array(32).fill(over.size ?? 1);
  return {
    path: 'f.txt', kind: 'file', size: 1, mtimeMs: 1000, mode: 0o644,
    blocks: [{ id: hash, hash, size: over.size ?? 1 }], version, deleted: false, ...over,
  };
}
const tomb = (version: VersionVector, over: Partial<FileRecord> = {}) => rec(version, { deleted: true, blocks: [], size: 0, ...over });

test('needFor: ordered versions', () => {
  const v1 = [{ id: A, value: 1 }];
  const v2 = [{ id: A, value: 2 }];
  assert.equal(needFor(undefined, undefined), 'nothing');
  assert.equal(needFor(undefined, rec(v1)), 'fetch');
  assert.equal(needFor(undefined, tomb(v1)), 'nothing');
  assert.equal(needFor(rec(v1), rec(v1)), 'nothing');
  assert.equal(needFor(rec(v2), rec(v1)), 'nothing');
  assert.equal(needFor(rec(v1), rec(v2, { size: 2 })), 'fetch');
  assert.equal(needFor(rec(v1), tomb(v2)), 'delete');
  assert.equal(needFor(tomb(v1), tomb(v2)), 'nothing');
  assert.equal(needFor(tomb(v1), rec(v2)), 'fetch');
});

test('needFor: concurrent versions', () => {
  const va = [{ id: A, value: 1 }];
  const vb = [{ id: B, value: 1 }];
  assert.equal(needFor(rec(va, { size: 3 }), rec(vb, { size: 4 })), 'conflict');
  assert.equal(needFor(rec(va), rec(vb)), 'fetch', 'same content is adopted, not a conflict');
  assert.equal(needFor(rec(va), tomb(vb)), 'nothing', 'a live edit beats a concurrent delete');
  assert.equal(needFor(tomb(va), rec(vb)), 'fetch');
});

test('winner rule: live beats deleted, then newer mtime, then larger last writer', () => {
  const va = [{ id: A, value: 1 }];
  const vb = [{ id: B, value: 1 }];
  assert.equal(pickWinner([tomb(vb, { mtimeMs: 9999 }), rec(va)])?.deleted, false);
  assert.equal(pickWinner([rec(va, { mtimeMs: 2000 }), rec(vb, { mtimeMs: 1000 })])?.version, va);
  assert.equal(pickWinner([rec(va), rec(vb)])?.version, vb);
  // Order of the candidates never changes the winner.
  assert.equal(pickWinner([rec(vb), rec(va)])?.version, vb);
  // A dominating version wins even against the rule's preferences.
  const newer = [{ id: A, value: 2 }];
  assert.equal(pickWinner([rec(va, { mtimeMs: 5000 }), tomb(newer)])?.deleted, true);
  assert.equal(pickWinner([]), undefined);
  assert.equal(compareByWinnerRule(rec(va), rec(va)), 0);
});

test('conflictName formats the name and keeps the extension', () => {
  const t = conflictTimeFromMs(Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(conflictName('dir/report.pdf', t, 'ABC1234'), 'dir/report.sync-conflict-20260102-030405-ABC1234.pdf');
  assert.equal(conflictName('.bashrc', t, 'X'), '.bashrc.sync-conflict-20260102-030405-X');
  assert.equal(conflictName('a.tar.gz', t, 'X'), 'a.tar.sync-conflict-20260102-030405-X.gz');
  assert.equal(conflictName('noext', t, '../evil'), 'noext.sync-conflict-20260102-030405-evil');
  const long = conflictName('d/' + 'n'.repeat(MAX_NAME_BYTES) + '.txt', t, 'DEV');
  const name = long.slice(2);
  assert.ok(new TextEncoder().encode(name).length <= MAX_NAME_BYTES);
  assert.ok(name.endsWith('.sync-conflict-20260102-030405-DEV.txt'));
});

test('sameFileState: same content, whole-millisecond mtime and mode; anything else differs', async () => {
  const v = [{ id: A, value: 1 }];
  const w = [{ id: B, value: 1 }];
  assert.equal(sameFileState(rec(v), rec(w, { mtimeMs: 1000.7 })), true, 'versions and sub-millisecond mtime do not matter');
  assert.equal(sameFileState(rec(v), rec(w, { mtimeMs: 1001 })), false, 'mtime');
  assert.equal(sameFileState(rec(v), rec(w, { mode: 0o755 })), false, 'mode');
  assert.equal(sameFileState(rec(v), rec(w, { size: 2 })), false, 'content');
  assert.equal(sameFileState(rec(v), tomb(w)), false, 'deleted');
  assert.equal(sameFileState(rec(v, { kind: 'symlink', blocks: [], size: 0 }), rec(w, { kind: 'symlink', blocks: [], size: 0 })), false, 'files only');
});

/**
 * Schema 2 (migrations.ts): random keys indexed by their first 8 bytes, block
 * rows that point at their file row. Lookups must still answer by the whole
 * key, block rows must follow their file row through rewrite, forget and
 * folder removal, and a schema-1 index is refused with one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openIndex, type Index, type RecordInput } from './index.js';
import type { BlockRef, FileRecord } from '../model/types.js';
import { isSealsyncError } from '../errors.js';

const A = '00000000000000aa';
const rand = (n: number) => new Uint8Array(randomBytes(n));

function tempIndex(t: { after: (fn: () => void) => void }): { idx: Index; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sealsync-index-keys-'));
  const path = join(dir, 'i.db');
  const idx = openIndex(path);
  t.after(() => {
    idx.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { idx, path };
}

/** 32 random bytes that start with `prefix` (8 bytes): same index key, different value. */
function withPrefix(prefix: Uint8Array): Uint8Array {
  const out = rand(32);
  out.set(prefix.subarray(0, 8), 0);
  return out;
}

function fileRecord(path: string, blocks: BlockRef[], deleted = false): FileRecord {
  const size = blocks.reduce((n, b) => n + b.size, 0);
  return { path, kind: 'file', size, mtimeMs: 1000, mode: 0o644, blocks, version: [{ id: A, value: 1 }], deleted };
}

function writeFile(idx: Index, folder: number, path: string, blocks: BlockRef[], deleted = false): void {
  idx.writeLocalFile(folder, { record: fileRecord(path, blocks, deleted), diskMtimeMs: 1000, ino: 1, dev: 1 });
}

test('records whose locators share the 8-byte index key stay apart', (t) => {
  const { idx } = tempIndex(t);
  const f = idx.addFolder({ path: '/d', folderId: 'ab'.repeat(32), type: 'rw' }).rowId;
  const l1 = rand(32);
  const l2 = withPrefix(l1);
  const rec = (locator: Uint8Array, value: number): RecordInput => ({ locator, version: [{ id: A, value }], blockIds: [rand(32)], sealed: rand(50) });
  assert.equal(idx.putRecord(f, rec(l1, 1)).outcome, 'stored');
  // Same version on another locator with the same prefix: not "equal" to l1's.
  assert.equal(idx.putRecord(f, rec(l2, 1)).outcome, 'stored');
  // A newer version for l2 replaces only l2's.
  assert.equal(idx.putRecord(f, rec(l2, 2)).replaced, 1);
  assert.deepEqual(idx.currentRecords(f, l1).map((r) => r.version[0]?.value), [1]);
  assert.deepEqual(idx.currentRecords(f, l2).map((r) => r.version[0]?.value), [2]);
  const both = idx.currentRecordsOf(f, [l1, l2, withPrefix(l1)]);
  assert.equal(both.size, 2);
  assert.deepEqual(both.get(Buffer.from(l1).toString('hex'))?.map((r) => r.version[0]?.value), [1]);
  assert.deepEqual(both.get(Buffer.from(l2).toString('hex'))?.map((r) => r.version[0]?.value), [2]);
});

test('block lookups answer by the whole id and hash, not the 8-byte key', (t) => {
  const { idx } = tempIndex(t);
  const f = idx.addFolder({ path: '/d', folderId: 'ab'.repeat(32), type: 'rw' }).rowId;
  const a = { id: rand(32), hash: rand(32), size: 10 };
  const b = { id: withPrefix(a.id), hash: withPrefix(a.hash), size: 20 };
  writeFile(idx, f, 'a.txt', [a]);
  writeFile(idx, f, 'dir/b.txt', [{ id: rand(32), hash: rand(32), size: 5 }, b]);
  assert.equal(idx.findBlockById(a.id)?.path, 'a.txt');
  assert.deepEqual(idx.findBlockById(b.id), { folderRowId: f, path: 'dir/b.txt', offset: 5, size: 20, hash: b.hash, id: b.id });
  assert.equal(idx.findBlockById(withPrefix(a.id)), undefined);
  assert.deepEqual(idx.findBlocksByHash(b.hash).map((l) => l.path), ['dir/b.txt']);
  assert.equal(idx.findBlockByHash(a.hash)?.path, 'a.txt');
  assert.deepEqual(idx.findBlocksByHash(withPrefix(a.hash)), []);
});

test('block rows follow their file row: rewrite, tombstone, forget, folder removal', (t) => {
  const { idx } = tempIndex(t);
  const f = idx.addFolder({ path: '/d', folderId: 'ab'.repeat(32), type: 'rw' }).rowId;
  const g = idx.addFolder({ path: '/e', folderId: 'cd'.repeat(32), type: 'rw' }).rowId;
  const old = { id: rand(32), hash: rand(32), size: 10 };
  const next = { id: rand(32), hash: rand(32), size: 11 };
  writeFile(idx, f, 'x', [old]);
  writeFile(idx, f, 'x', [next]);
  assert.equal(idx.findBlockById(old.id), undefined, 'a rewrite drops the old blocks');
  assert.equal(idx.findBlockById(next.id)?.path, 'x');
  assert.equal(idx.getFile(f, 'x')?.record.blocks[0]?.size, 11);

  writeFile(idx, f, 'x', [], true);
  assert.equal(idx.findBlockById(next.id), undefined, 'a tombstone has no blocks');
  writeFile(idx, f, 'x', [next]);
  assert.equal(idx.findBlockById(next.id)?.path, 'x');
  idx.forgetFile(f, 'x');
  assert.equal(idx.findBlockById(next.id), undefined, 'forgetting a file drops its blocks');
  assert.equal(idx.getFile(f, 'x'), undefined);
  idx.forgetFile(f, 'never-there');

  const kept = { id: rand(32), hash: rand(32), size: 3 };
  writeFile(idx, f, 'y', [next]);
  writeFile(idx, g, 'y', [kept]);
  assert.equal(idx.removeFolder(f), true);
  assert.equal(idx.findBlockById(next.id), undefined, 'a removed folder leaves no block rows');
  assert.equal(idx.findBlockById(kept.id)?.folderRowId, g, "another folder's blocks stay");
  // A new file row may reuse a freed rowid: it must not inherit blocks.
  writeFile(idx, g, 'z', []);
  assert.deepEqual(idx.getFile(g, 'z')?.record.blocks, []);
  assert.equal(idx.findBlockById(kept.id)?.path, 'y');
});

test('an index of schema 1 (before issue 16) is refused with one line', async (t) => {
  const { idx, path } = tempIndex(t);
  idx.close();
  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(path);
  raw.exec('DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (1)');
  raw.close();
  assert.throws(() => openIndex(path), (e: unknown) => {
    assert.ok(isSealsyncError(e, 'ERR_FORMAT_VERSION'));
    assert.match((e as Error).message, /schema 1 from an older sealsync .*re-create the home/);
    assert.doesNotMatch((e as Error).message, /\n/);
    return true;
  });
});

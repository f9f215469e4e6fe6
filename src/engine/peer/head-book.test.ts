import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveEncrypted, keysFromSecret, newFolderSecret } from '../../crypto/keys.js';
import { encodeSealedRecord, locatorFor, sealRecord } from '../../crypto/sealed-record.js';
import { signHead } from '../../crypto/signed-head.js';
import { formatDeviceId } from '../../crypto/device-id.js';
import { openIndex, type Index } from '../../index/index.js';
import type { FileRecord, VersionVector } from '../../model/types.js';
import { HeadBook } from './head-book.js';

const W = keysFromSecret(newFolderSecret());
const E = deriveEncrypted(W);
const DEVICE = new Uint8Array(32).fill(9);
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

function rec(path: string, version: VersionVector, deleted = false): FileRecord {
  return { path, kind: 'file', size: 0, mtimeMs: 1_700_000_000_000, mode: 0o644, blocks: [], version, deleted };
}

function put(index: Index, folder: number, r: FileRecord): void {
  const sealed = sealRecord(W, r);
  index.putRemoteRecord(folder, { locator: sealed.locator, version: sealed.version, blockIds: [], sealed: encodeSealedRecord(sealed) });
}

function setup(dbPath = ':memory:') {
  const index = openIndex(dbPath);
  const folder = index.folderByFolderId(Buffer.from(W.folderId).toString('hex'))
    ?? index.addFolder({ path: '/f', folderId: Buffer.from(W.folderId).toString('hex'), type: 'rw' });
  let now = 1_000_000;
  const clock = { advance: (ms: number) => { now += ms; } };
  const book = new HeadBook({ index, folderRowId: () => folder.rowId, keys: E, now: () => now, graceMs: 1000 });
  return { index, folder: folder.rowId, book, clock };
}

test('a writer stores its head before publishing; a restart takes the next number, never the same one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heads-'));
  try {
    const db = join(dir, 'index.db');
    let s = setup(db);
    put(s.index, s.folder, rec('a.txt', [{ id: A, value: 1 }]));
    const first = s.book.makeOwn(W, DEVICE, A);
    assert.equal(first?.[0]?.number, 1);
    assert.equal(s.book.makeOwn(W, DEVICE, A), null, 'nothing changed: no new head');
    // Stored before anyone saw it: a crash right after makeOwn (no send) still has #1 on disk.
    assert.deepEqual(s.index.headPages(s.folder).map((p) => p.number), [1]);
    s.index.close();
    s = setup(db);
    put(s.index, s.folder, rec('a.txt', [{ id: A, value: 2 }]));
    const second = s.book.makeOwn(W, DEVICE, A);
    assert.equal(second?.[0]?.number, 2, 'the next number after a restart');
    assert.notDeepEqual(second?.[0]?.bytes, first?.[0]?.bytes);
    s.index.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('records older than a head are found; equal, newer and concurrent ones are not', () => {
  const { book } = setup();
  const loc = locatorFor(W, 'f.txt');
  const [page] = signHead(W, { device: DEVICE, writer: A, number: 4, timeMs: 5 }, [{ locator: loc, version: [{ id: A, value: 3 }] }]);
  assert.equal(book.receive(page!.bytes).outcome, 'stored');
  assert.deepEqual(book.newerThan(loc, [{ id: A, value: 2 }]), { writer: A, device: formatDeviceId(DEVICE), number: 4 });
  assert.equal(book.newerThan(loc, [{ id: A, value: 3 }]), null);
  assert.equal(book.newerThan(loc, [{ id: A, value: 4 }]), null);
  assert.equal(book.newerThan(loc, [{ id: B, value: 1 }]), null, 'concurrent: a conflict, not a rollback');
  assert.equal(book.newerThan(locatorFor(W, 'other.txt'), [{ id: A, value: 1 }]), null);
});

test('older heads are stale, a second head with the same number is a conflict, a bad signature is invalid', () => {
  const { book } = setup();
  const loc = locatorFor(W, 'f.txt');
  const head = (number: number, value: number) => signHead(W, { device: DEVICE, writer: A, number, timeMs: number }, [{ locator: loc, version: [{ id: A, value }] }])[0]!.bytes;
  assert.equal(book.receive(head(2, 2)).outcome, 'stored');
  assert.equal(book.receive(head(2, 2)).outcome, 'same');
  assert.equal(book.receive(head(1, 1)).outcome, 'stale');
  assert.equal(book.receive(head(2, 5)).outcome, 'conflict');
  assert.equal(book.problems().find((p) => p.kind === 'conflicting-heads')?.head, 2);
  const forged = head(3, 3).slice();
  forged[forged.length - 1] = forged[forged.length - 1]! ^ 1;
  assert.deepEqual(book.receive(forged), { outcome: 'invalid', code: 'ERR_SIGNATURE' });
  const otherFolder = signHead(keysFromSecret(newFolderSecret()), { device: DEVICE, writer: A, number: 9, timeMs: 0 }, [])[0]!.bytes;
  assert.equal(book.receive(otherFolder).outcome, 'invalid');
  assert.equal(book.pages().length, 1, 'only the newest head is kept and forwarded');
});

test('withholding is reported after the grace period while a head lists versions not held, and clears when they arrive', () => {
  const { index, folder, book, clock } = setup();
  const loc = locatorFor(W, 'f.txt');
  const [page] = signHead(W, { device: DEVICE, writer: A, number: 1, timeMs: 1_700_000_000_000 }, [{ locator: loc, version: [{ id: A, value: 2 }] }]);
  book.receive(page!.bytes);
  book.noteRollback({ writer: A, device: 'd', number: 1 });
  assert.deepEqual(book.problems().map((p) => p.kind), ['rollback'], 'within the grace period: only the refusal');
  clock.advance(5000);
  const withheld = book.problems().find((p) => p.kind === 'withholding');
  assert.ok(withheld);
  assert.match(withheld.message, /^the server may be withholding updates from \S+ since 2023-11-14T22:13:20.000Z/);
  assert.equal(withheld.count, 1);
  put(index, folder, rec('f.txt', [{ id: A, value: 2 }]));
  clock.advance(5000);
  assert.deepEqual(book.problems(), [], 'the version arrived: nothing withheld, the refusal is moot');
});

test('a map larger than one page is published as several pages and checked by page', () => {
  const { index, folder, book } = setup();
  index.transaction(() => {
    for (let i = 0; i < 300; i++) put(index, folder, rec(`dir/file-${i}.txt`, [{ id: A, value: 1 + (i % 3) }]));
  });
  const pages = book.makeOwn(W, DEVICE, A);
  assert.ok(pages && pages.length >= 1);
  assert.equal(pages.reduce((n, p) => n + p.entries.length, 0), 300);
  assert.ok(book.newerThan(locatorFor(W, 'dir/file-2.txt'), [{ id: A, value: 1 }]));
});

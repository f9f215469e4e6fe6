import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveEncrypted, keysFromSecret, newFolderSecret } from '../../crypto/keys.js';
import { encodeSealedRecord, locatorFor, sealRecord } from '../../crypto/sealed-record.js';
import { decodeHeadPage, signHead } from '../../crypto/signed-head.js';
import { formatDeviceId } from '../../crypto/device-id.js';
import { openIndex, type Index } from '../../index/index.js';
import type { FileRecord, VersionVector } from '../../model/types.js';
import { ROOT_PAGE_INDEX } from '../../index/head-store.js';
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
    assert.equal(first?.number, 1);
    assert.deepEqual(first?.parts, [0, ROOT_PAGE_INDEX], 'one page and the root');
    assert.equal(s.book.makeOwn(W, DEVICE, A), null, 'nothing changed: no new head');
    // Stored before anyone saw it: a crash right after makeOwn (no send) still has #1 on disk.
    assert.deepEqual(s.index.heads.rows(s.folder).map((p) => p.number), [1, 1]);
    const firstPage = s.book.partBytes(A, 0);
    s.index.close();
    s = setup(db);
    put(s.index, s.folder, rec('a.txt', [{ id: A, value: 2 }]));
    const second = s.book.makeOwn(W, DEVICE, A);
    assert.equal(second?.number, 2, 'the next number after a restart');
    assert.notDeepEqual(s.book.partBytes(A, 0), firstPage);
    s.index.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('records older than a head are found; equal, newer and concurrent ones are not', () => {
  const { book } = setup();
  const loc = locatorFor(W, 'f.txt');
  const [page] = signHead(W, { device: DEVICE, writer: A, number: 4, timeMs: 5 }, [{ locator: loc, version: [{ id: A, value: 3 }] }]);
  assert.equal(book.receive(page!.bytes).outcome, 'stored', 'a page is used before its root arrives');
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
  assert.equal(book.parts().length, 1, 'only the newest version of the page is kept and forwarded');
});

test('withholding is reported after the grace period while a head lists versions not held, and clears when they arrive', () => {
  const { index, folder, book, clock } = setup();
  const loc = locatorFor(W, 'f.txt');
  for (const part of signHead(W, { device: DEVICE, writer: A, number: 1, timeMs: 1_700_000_000_000 }, [{ locator: loc, version: [{ id: A, value: 2 }] }])) {
    assert.equal(book.receive(part.bytes).outcome, 'stored');
  }
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
  const head = book.makeOwn(W, DEVICE, A);
  assert.ok(head && head.parts.length >= 2);
  const listed = head.parts.filter((i) => i !== ROOT_PAGE_INDEX).map((i) => decodeHeadPage(book.partBytes(A, i)!));
  assert.equal(listed.reduce((n, p) => n + (p.kind === 'page' ? p.entries.length : 0), 0), 300);
  assert.ok(book.newerThan(locatorFor(W, 'dir/file-2.txt'), [{ id: A, value: 1 }]));
});

test('an edit re-signs only its own page and a root; the root keeps the other pages\' numbers', () => {
  const { index, folder, book } = setup();
  index.transaction(() => {
    for (let i = 0; i < 2000; i++) put(index, folder, rec(`d/f-${i}.txt`, [{ id: A, value: 1 }]));
  });
  const first = book.makeOwn(W, DEVICE, A)!;
  const pageCount = first.parts.length - 1;
  assert.ok(pageCount >= 2, `${pageCount} pages for 2,000 paths`);
  put(index, folder, rec('d/f-7.txt', [{ id: A, value: 2 }]));
  const second = book.makeOwn(W, DEVICE, A)!;
  const pageOfEdit = decodeHeadPage(book.partBytes(A, second.parts[0]!)!);
  assert.deepEqual(second.parts.length, 2, 'one page and the root');
  assert.equal(pageOfEdit.number, 2);
  assert.ok(pageOfEdit.kind === 'page' && pageOfEdit.entries.some((e) => Buffer.compare(e.locator, locatorFor(W, 'd/f-7.txt')) === 0));
  const root = decodeHeadPage(book.partBytes(A, ROOT_PAGE_INDEX)!);
  assert.ok(root.kind === 'root');
  assert.equal(root.pageNumbers.filter((n) => n === 2).length, 1);
  assert.equal(root.pageNumbers.filter((n) => n === 1).length, pageCount - 1);
  assert.equal(index.heads.rows(folder).length, pageCount + 1, 'one row per page and the root, still');
  assert.ok(book.newerThan(locatorFor(W, 'd/f-7.txt'), [{ id: A, value: 1 }]));
  assert.ok(book.newerThan(locatorFor(W, 'd/f-8.txt'), [{ id: B, value: 1 }]) === null);
  // Stored records that change nothing a head lists (the same version again) make no head.
  put(index, folder, rec('d/f-7.txt', [{ id: A, value: 2 }]));
  assert.equal(book.makeOwn(W, DEVICE, A), null);
});

test('a receiver keeps the newest version of each page and the newest root; another layout gives way to a newer root', () => {
  const { book } = setup();
  const loc = (i: number) => locatorFor(W, `p-${i}`);
  const head = (number: number, n: number, value: number) =>
    signHead(W, { device: DEVICE, writer: A, number, timeMs: number }, Array.from({ length: n }, (_, i) => ({ locator: loc(i), version: [{ id: A, value }] })));
  const small = head(1, 3, 1); // one page (bits 0) and its root
  for (const p of small) assert.equal(book.receive(p.bytes).outcome, 'stored');
  assert.ok(book.newerThan(loc(1), [{ id: A, value: 0 + 1 }]) === null);
  const big = head(5, 3000, 2); // a finer layout at a higher number
  assert.ok(big.length > 3);
  const root = big.pop()!;
  // Its pages arrive before its root: the old one-page layout still answers, then the new pages do.
  for (const p of big) assert.equal(book.receive(p.bytes).outcome, 'stored');
  assert.equal(book.receive(root.bytes).outcome, 'stored');
  assert.equal(book.parts().length, big.length + 1, 'the old layout\'s page is gone');
  assert.deepEqual(book.newerThan(loc(1), [{ id: A, value: 1 }])?.number, 5);
  assert.equal(book.newerThan(loc(2999), [{ id: A, value: 2 }]), null);
  // The old layout's page again: stale now.
  assert.equal(book.receive(small[0]!.bytes).outcome, 'stale');
  // A second, different root with number 5 is two heads with one number.
  const other = head(5, 10, 3).pop()!;
  assert.equal(book.receive(other.bytes).outcome, 'conflict');
});

test('withholding counts the pages a root names that are not held at its number', () => {
  const { index, folder, book, clock } = setup();
  const parts = signHead(W, { device: DEVICE, writer: A, number: 3, timeMs: 1_700_000_000_000 },
    Array.from({ length: 2000 }, (_, i) => ({ locator: locatorFor(W, `w-${i}`), version: [{ id: A, value: 1 }] })));
  const root = parts.pop()!;
  assert.equal(book.receive(root.bytes).outcome, 'stored');
  for (const p of parts.slice(1)) book.receive(p.bytes); // page 0 is withheld
  index.transaction(() => {
    for (let i = 0; i < 2000; i++) put(index, folder, rec(`w-${i}`, [{ id: A, value: 1 }]));
  });
  clock.advance(5000);
  const withheld = book.problems().find((p) => p.kind === 'withholding');
  assert.equal(withheld?.count, 1, 'one page of head #3 never arrived');
  book.receive(parts[0]!.bytes);
  clock.advance(5000);
  assert.deepEqual(book.problems(), [], 'every page held and every version it lists');
});

test('a page found complete is judged again when a newer version of it arrives', () => {
  const { index, folder, book, clock } = setup();
  const loc = locatorFor(W, 'g.txt');
  const head = (number: number, value: number) => signHead(W, { device: DEVICE, writer: A, number, timeMs: number }, [{ locator: loc, version: [{ id: A, value }] }]);
  for (const part of head(1, 1)) book.receive(part.bytes);
  put(index, folder, rec('g.txt', [{ id: A, value: 1 }]));
  clock.advance(5000);
  assert.deepEqual(book.problems(), [], 'head #1 complete');
  for (const part of head(2, 2)) assert.equal(book.receive(part.bytes).outcome, 'stored');
  clock.advance(5000);
  assert.equal(book.problems().find((p) => p.kind === 'withholding')?.count, 1, 'version 2 of g.txt is listed and not held');
  put(index, folder, rec('g.txt', [{ id: A, value: 2 }]));
  clock.advance(5000);
  assert.deepEqual(book.problems(), []);
});

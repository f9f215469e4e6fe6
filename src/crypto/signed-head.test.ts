import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isSealsyncError } from '../errors.js';
import { deriveEncrypted, deriveReadOnly, keysFromSecret } from './keys.js';
import {
  checkHeadPage, decodeHeadPage, encodeHeadPage, HeadPageLookup, headPageBits, headPageOf, headPageRange, HEAD_PAGE_TARGET_BYTES, MAX_HEAD_PAGE_BYTES,
  signHead, signHeadPage, signHeadRoot, type HeadEntry, type SignedHeadPage,
} from './signed-head.js';

const W = keysFromSecret(new Uint8Array(32).fill(0x42));
const E = deriveEncrypted(W);
const OTHER = keysFromSecret(new Uint8Array(32).fill(0x43));
const header = { device: new Uint8Array(32).fill(7), writer: '00000000000000aa', number: 3, timeMs: 1_700_000_000_000 };

function code(f: () => unknown): string {
  try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); }
  return 'ok';
}

function entries(n: number): HeadEntry[] {
  return Array.from({ length: n }, (_, i) => ({ locator: new Uint8Array(randomBytes(32)), version: [{ id: '00000000000000aa', value: i + 1 }] }));
}

function pageOf(bytes: Uint8Array): SignedHeadPage {
  const part = decodeHeadPage(bytes);
  assert.equal(part.kind, 'page');
  return part as SignedHeadPage;
}

test('a head signs, decodes and verifies with E keys; another folder or a changed byte fails', () => {
  const [page, root] = signHead(W, header, entries(10));
  assert.ok(page && root);
  const back = checkHeadPage(E, page.bytes);
  assert.equal(back.number, 3);
  assert.equal(back.kind === 'page' && back.entries.length, 10);
  const backRoot = checkHeadPage(E, root.bytes);
  assert.deepEqual(backRoot.kind === 'root' && backRoot.pageNumbers, [3]);
  assert.equal(code(() => checkHeadPage(deriveReadOnly(OTHER), page.bytes)), 'ERR_SIGNATURE');
  const flipped = page.bytes.slice();
  flipped[45] = flipped[45]! ^ 1; // inside the number
  assert.equal(code(() => checkHeadPage(E, flipped)), 'ERR_SIGNATURE');
  assert.equal(code(() => signHead(E as never, header, [])), 'ERR_FOLDER_TYPE');
});

test('the decoder is strict: version, order, duplicates, page range, trailing bytes, truncation', () => {
  const [page] = signHead(W, header, entries(3));
  const bytes = page!.bytes;
  const set = (pos: number, v: number) => { const b = bytes.slice(); b[pos] = v; return b; };
  assert.equal(code(() => decodeHeadPage(set(0, 1))), 'ERR_FORMAT_VERSION');
  assert.equal(code(() => decodeHeadPage(set(1, 2))), 'ERR_FORMAT_ALGORITHM');
  assert.equal(code(() => decodeHeadPage(set(58, 17))), 'ERR_FORMAT_TRUNCATED'); // page bits over 16
  assert.equal(code(() => decodeHeadPage(set(59, 2))), 'ERR_FORMAT_TRUNCATED'); // an unknown kind of part
  const longer = new Uint8Array(bytes.byteLength + 1);
  longer.set(bytes);
  assert.equal(code(() => decodeHeadPage(longer)), 'ERR_FORMAT_TRUNCATED');
  for (let n = 0; n < bytes.byteLength; n += 5) assert.equal(code(() => decodeHeadPage(bytes.subarray(0, n))), 'ERR_FORMAT_TRUNCATED');
  const e = entries(2);
  const [a, b] = e as [HeadEntry, HeadEntry];
  const unsorted = { ...header, pageBits: 0, pageIndex: 0 };
  assert.equal(code(() => signHeadPage(W, { ...unsorted, entries: Buffer.compare(a.locator, b.locator) < 0 ? [b, a] : [a, b] })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => signHeadPage(W, { ...unsorted, entries: [a, a] })), 'ERR_FORMAT_TRUNCATED');
  const high = { locator: new Uint8Array(32).fill(0xff), version: [] };
  assert.equal(code(() => signHeadPage(W, { ...header, pageBits: 1, pageIndex: 0, entries: [high] })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => signHeadPage(W, { ...header, number: 0, pageBits: 0, pageIndex: 0, entries: [] })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => decodeHeadPage(new Uint8Array(MAX_HEAD_PAGE_BYTES + 1))), 'ERR_FORMAT_TRUNCATED');
});

test('a large map is cut into pages that each fit the bound and cover every entry once', () => {
  const many = entries(40_000);
  const pages = signHead(W, header, many);
  const root = pages.pop()!;
  assert.equal(root.kind, 'root', 'the root comes last');
  assert.ok(pages.length > 1 && (pages.length & (pages.length - 1)) === 0, `${pages.length} pages`);
  let total = 0;
  for (const p of pages) {
    assert.ok(p.bytes.byteLength <= MAX_HEAD_PAGE_BYTES);
    const back = checkHeadPage(E, p.bytes);
    assert.equal(back.kind, 'page');
    if (back.kind !== 'page') continue;
    for (const e of back.entries) assert.equal(headPageOf(e.locator, back.pageBits), back.pageIndex);
    total += back.entries.length;
  }
  assert.equal(total, many.length);
  // ~50 bytes an entry: pages near the target size, not one page up to the 1 MiB bound.
  assert.equal(pages.length, 2 ** headPageBits(many.length * 50));
  assert.ok(Math.max(...pages.map((p) => p.bytes.byteLength)) < 2 * HEAD_PAGE_TARGET_BYTES);
});

test('a root lists a number for every page, none above its own, and the largest is its own', () => {
  const root = { ...header, pageBits: 2, pageNumbers: [1, 3, 2, 3] };
  const signed = signHeadRoot(W, root);
  const back = checkHeadPage(E, signed.bytes);
  assert.deepEqual(back.kind === 'root' && back.pageNumbers, [1, 3, 2, 3]);
  assert.deepEqual(encodeHeadPage(back), signed.bytes);
  assert.equal(code(() => signHeadRoot(W, { ...root, pageNumbers: [1, 3, 2] })), 'ERR_FORMAT_TRUNCATED', 'one page short');
  assert.equal(code(() => signHeadRoot(W, { ...root, pageNumbers: [1, 4, 2, 3] })), 'ERR_FORMAT_TRUNCATED', 'a page newer than its root');
  assert.equal(code(() => signHeadRoot(W, { ...root, pageNumbers: [1, 2, 2, 2] })), 'ERR_FORMAT_TRUNCATED', 'no page at the root\'s number');
  assert.equal(code(() => signHeadRoot(W, { ...root, pageNumbers: [0, 3, 2, 3] })), 'ERR_FORMAT_TRUNCATED');
  // A root whose page numbers are cut off is refused before they are read.
  const short = signed.bytes.slice(0, 60 + 4);
  new DataView(short.buffer).setUint32(60, 4);
  assert.equal(code(() => decodeHeadPage(short)), 'ERR_FORMAT_TRUNCATED');
});

test('a page lookup finds every version of a locator in the verified bytes, and nothing for others', () => {
  const e = entries(500);
  const loc = e[7]!.locator;
  e.push({ locator: loc, version: [{ id: '00000000000000bb', value: 9 }] }); // two concurrent versions of one path
  const pages = signHead(W, header, e).filter((p): p is SignedHeadPage => p.kind === 'page');
  const home = pages.find((p) => p.pageIndex === headPageOf(loc, p.pageBits))!;
  const lookup = new HeadPageLookup(home.bytes);
  assert.equal(lookup.entryCount, home.entries.length);
  assert.deepEqual(lookup.versionsOf(loc), home.entries.filter((x) => Buffer.compare(x.locator, loc) === 0).map((x) => x.version));
  assert.equal(lookup.versionsOf(loc).length, 2);
  for (const x of home.entries.slice(0, 50)) assert.ok(lookup.versionsOf(x.locator).length >= 1);
  assert.deepEqual(lookup.versionsOf(new Uint8Array(32)), []);
  assert.deepEqual(lookup.versionsOf(new Uint8Array(32).fill(0xff)), []);
  assert.equal(code(() => new HeadPageLookup(signHeadRoot(W, { ...header, pageBits: 0, pageNumbers: [3] }).bytes)), 'ERR_FORMAT_TRUNCATED', 'a root is not a page');
  assert.deepEqual(pageOf(home.bytes).entries.length, home.entries.length);
});

test('page ranges cover the locator space in order; page bits follow the size with some slack', () => {
  for (const bits of [0, 1, 5, 16]) {
    for (const i of [0, 1, 2 ** bits - 1].filter((x) => x >= 0 && x < 2 ** bits)) {
      const { lo, hi } = headPageRange(i, bits);
      assert.equal(headPageOf(lo, bits), i);
      if (hi) assert.equal(headPageOf(hi, bits), i + 1);
      else assert.equal(i, 2 ** bits - 1, 'only the last page is open-ended');
    }
  }
  assert.equal(headPageBits(0), 0);
  assert.equal(headPageBits(HEAD_PAGE_TARGET_BYTES), 0);
  assert.equal(headPageBits(HEAD_PAGE_TARGET_BYTES + 1), 1);
  assert.equal(headPageBits(1_000_000 * 50), 11, 'a million paths: 2,048 pages');
  assert.equal(headPageBits(3 * HEAD_PAGE_TARGET_BYTES * 2 ** 4, 4), 4, 'pages 3x the target: the layout stays');
  assert.equal(headPageBits(5 * HEAD_PAGE_TARGET_BYTES * 2 ** 4, 4), 7, 'past 4x: a finer layout');
  assert.equal(headPageBits(HEAD_PAGE_TARGET_BYTES * 2 ** 4 / 8, 4), 1, 'below a quarter: a coarser one');
  assert.equal(headPageBits(HEAD_PAGE_TARGET_BYTES * 2 ** 20), 16, 'never past 16 bits');
});

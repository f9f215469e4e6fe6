import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isSealsyncError } from '../errors.js';
import { deriveEncrypted, deriveReadOnly, keysFromSecret } from './keys.js';
import { checkHeadPage, decodeHeadPage, headPageOf, MAX_HEAD_PAGE_BYTES, signHead, signHeadPage, type HeadEntry } from './signed-head.js';

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

test('a head signs, decodes and verifies with E keys; another folder or a changed byte fails', () => {
  const [page] = signHead(W, header, entries(10));
  assert.ok(page);
  const back = checkHeadPage(E, page.bytes);
  assert.equal(back.number, 3);
  assert.equal(back.entries.length, 10);
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
  assert.ok(pages.length > 1 && (pages.length & (pages.length - 1)) === 0, `${pages.length} pages`);
  let total = 0;
  for (const p of pages) {
    assert.ok(p.bytes.byteLength <= MAX_HEAD_PAGE_BYTES);
    const back = checkHeadPage(E, p.bytes);
    for (const e of back.entries) assert.equal(headPageOf(e.locator, back.pageBits), back.pageIndex);
    total += back.entries.length;
  }
  assert.equal(total, many.length);
});

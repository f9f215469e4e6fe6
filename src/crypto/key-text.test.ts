import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError, type ErrorCode } from '../errors.js';
import { BASE32_ALPHABET } from './base32.js';
import { deriveEncrypted, deriveReadOnly, keysFromSecret } from './keys.js';
import { checkKeyText, folderIdText, formatKey, keyLink, keyTypeName, parseKey, parseKeyLink } from './key-text.js';

const W = keysFromSecret(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
const KEYS = [W, deriveReadOnly(W), deriveEncrypted(W)];
const KEY_ERRORS = new Set<ErrorCode>(['ERR_KEY_EMPTY', 'ERR_KEY_TYPE', 'ERR_KEY_LENGTH', 'ERR_KEY_CHARACTER', 'ERR_KEY_CHECKSUM', 'ERR_KEY_LINK']);

function failsWithKeyError(text: string): ErrorCode {
  try {
    parseKey(text);
  } catch (err) {
    assert.ok(isSealsyncError(err) && KEY_ERRORS.has(err.code), `unexpected error for ${text}: ${String(err)}`);
    return err.code;
  }
  assert.fail(`accepted a corrupted key: ${text}`);
}

test('text form: type letter, lengths, round trip', () => {
  const [w, r, e] = KEYS.map(formatKey) as [string, string, string];
  assert.match(w, /^W[A-Z2-7]{58}$/);
  assert.match(r, /^R[A-Z2-7]{109}$/);
  assert.match(e, /^E[A-Z2-7]{109}$/);
  for (const k of KEYS) assert.deepEqual(parseKey(formatKey(k)), k);
});

test('input is case-insensitive and ignores spaces and dashes', () => {
  const text = formatKey(W);
  const grouped = text.toLowerCase().replace(/.{5}/g, '$& ').replace(/ (.)/g, (m, c, i) => (i % 2 ? '-' : ' ') + c);
  assert.deepEqual(parseKey(`  ${grouped}\n`), W);
});

test('EVERY single-character substitution of every key type fails (never another folder)', () => {
  let checked = 0;
  for (const keys of KEYS) {
    const text = formatKey(keys);
    for (let i = 0; i < text.length; i++) {
      const original = text[i] as string;
      const substitutes = [...BASE32_ALPHABET, '0', '1', '8', '9', '!', 'é'].filter((c) => c !== original);
      for (const c of substitutes) {
        failsWithKeyError(text.slice(0, i) + c + text.slice(i + 1));
        checked++;
      }
    }
  }
  assert.ok(checked > 8000, `only ${checked} substitutions checked`);
});

test('every deletion, insertion and adjacent swap fails', () => {
  for (const keys of KEYS) {
    const text = formatKey(keys);
    for (let i = 0; i < text.length; i++) {
      assert.equal(failsWithKeyError(text.slice(0, i) + text.slice(i + 1)), i === 0 ? 'ERR_KEY_TYPE' : 'ERR_KEY_LENGTH');
      failsWithKeyError(text.slice(0, i) + 'A' + text.slice(i));
      if (i + 1 < text.length && text[i] !== text[i + 1]) {
        failsWithKeyError(text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2));
      }
    }
  }
});

test('each kind of mistake has its own code', () => {
  const text = formatKey(W);
  const code = (t: string) => { try { parseKey(t); } catch (err) { return isSealsyncError(err) ? err.code : 'other'; } return 'accepted'; };
  assert.equal(code(''), 'ERR_KEY_EMPTY');
  assert.equal(code('  - '), 'ERR_KEY_EMPTY');
  assert.equal(code('X' + text.slice(1)), 'ERR_KEY_TYPE');
  assert.equal(code(text.slice(0, -1)), 'ERR_KEY_LENGTH');
  assert.equal(code('R' + text.slice(1)), 'ERR_KEY_LENGTH');
  assert.equal(code(text.slice(0, 5) + '0' + text.slice(6)), 'ERR_KEY_CHARACTER');
  assert.equal(code(text.slice(0, 5) + (text[5] === 'A' ? 'B' : 'A') + text.slice(6)), 'ERR_KEY_CHECKSUM');
  assert.equal(code('sealsync://other?key=' + text), 'ERR_KEY_LINK');
  assert.equal(code('sealsync://join'), 'ERR_KEY_LINK');
  assert.equal(code('sealsync://join?key=' + encodeURIComponent('sealsync://join?key=' + text)), 'ERR_KEY_LINK');
  assert.equal(code('W'.repeat(5000)), 'ERR_KEY_LENGTH');
});

test('checkKeyText accepts and refuses exactly what parseKey does, with the same codes, and gives the type', () => {
  const outcome = (f: () => unknown): string => { try { f(); return 'ok'; } catch (err) { return isSealsyncError(err) ? err.code : String(err); } };
  for (const k of KEYS) {
    const text = formatKey(k);
    const spellings = [
      text, text.toLowerCase(), ` ${text.match(/.{1,5}/g)?.join('-')}\n`, keyLink(k, { name: 'x' }),
      '', ' - ', 'X' + text.slice(1), text.slice(0, -1), text + 'A', text.slice(0, 5) + '0' + text.slice(6),
      text.slice(0, 5) + (text[5] === 'A' ? 'B' : 'A') + text.slice(6), 'sealsync://join', 'sealsync://other?key=' + text,
      'sealsync://join?key=' + encodeURIComponent('sealsync://join?key=' + text), 'W'.repeat(5000),
    ];
    for (const t of spellings) assert.equal(outcome(() => checkKeyText(t)), outcome(() => parseKey(t)), JSON.stringify(t));
    assert.equal(checkKeyText(text), k.type);
  }
});

test('R↔E letter swap is caught by the checksum (same length)', () => {
  const r = formatKey(KEYS[1] as (typeof KEYS)[number]);
  assert.throws(() => parseKey('E' + r.slice(1)), (err) => isSealsyncError(err, 'ERR_KEY_CHECKSUM'));
});

test('links carry the key and an optional name hint', () => {
  const r = KEYS[1] as (typeof KEYS)[number];
  const link = keyLink(r, { name: 'Photos & more' });
  assert.match(link, /^sealsync:\/\/join\?key=R[A-Z2-7]+&name=Photos%20%26%20more$/);
  assert.deepEqual(parseKey(link), r);
  assert.deepEqual(parseKeyLink(link), { key: formatKey(r), name: 'Photos & more' });
  assert.deepEqual(parseKey(keyLink(W)), W);
});

test('folder id text: 32 lowercase base32 characters of 20 bytes, in groups of 4', () => {
  const t = folderIdText(W.folderId);
  assert.match(t, /^[a-z2-7]{4}(-[a-z2-7]{4}){7}$/);
  assert.notEqual(folderIdText(KEYS[0]!.folderId), folderIdText(keysFromSecret(new Uint8Array(32)).folderId));
});

test('type names', () => {
  assert.deepEqual(['rw', 'ro', 'encrypted'].map((t) => keyTypeName(t as 'rw')), ['read-write', 'read-only', 'encrypted']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, caseFoldKey, isInStateDir, isStateDirName, utf8Length, validateRelativePath, isSafeRelativePath } from './path.js';
import { isSealsyncError } from '../errors.js';

test('accepts and normalises ordinary relative paths', () => {
  assert.equal(validateRelativePath('a/b/c.txt'), 'a/b/c.txt');
  assert.equal(validateRelativePath('.sealignore'), '.sealignore');
  assert.equal(validateRelativePath('docs/.sealsync-notes'), 'docs/.sealsync-notes');
  assert.equal(validateRelativePath('sub/.sealsyncx/x'), 'sub/.sealsyncx/x');
  assert.equal(validateRelativePath('sub/sealsync/x'), 'sub/sealsync/x');
  // NFD "é" becomes NFC.
  assert.equal(validateRelativePath('caf\u0065\u0301'), 'caf\u00e9');
});

test('rejects unsafe paths with ERR_PATH_UNSAFE', () => {
  const bad: unknown[] = [
    '', '/etc/passwd', 'a//b', 'a/./b', '../x', 'a/..', '.', 'a/', 'a\\b', 'a\u0000b', 'a\nb',
    '.sealsync', '.sealsync/keys', 'x'.repeat(MAX_NAME_BYTES + 1), ('a/'.repeat(MAX_PATH_BYTES / 2)) + 'b', 42, null,
    'é'.repeat(MAX_NAME_BYTES / 2 + 1),
  ];
  for (const p of bad) {
    assert.throws(() => validateRelativePath(p), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'), JSON.stringify(p)?.slice(0, 40));
    assert.equal(isSafeRelativePath(p), false);
  }
  assert.equal(isSafeRelativePath('x'.repeat(MAX_NAME_BYTES)), true);
});

test('a .sealsync state directory in any spelling, at any depth, is refused', () => {
  // Each of these names is the state directory on some file system: case-insensitive ones
  // (macOS, Windows), HFS+ (ignores format characters), Windows (drops trailing dots and spaces).
  const spellings = [
    '.sealsync', '.SEALSYNC', '.SealSync', '.sealsynC', '.\u017fealsync', '.sea\u200blsync', '\u200c.sealsync', '.sealsync\ufeff',
    '.sealsync.', '.sealsync ', '.SEALSYNC. .', '.se\u0041lsync',
  ];
  for (const name of spellings) {
    assert.equal(isStateDirName(name), true, JSON.stringify(name));
    for (const path of [name, `${name}/ignore`, `a/${name}`, `a/b/${name}/archive/x`]) {
      assert.equal(isInStateDir(path), true, JSON.stringify(path));
      assert.throws(() => validateRelativePath(path), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE') && /\.sealsync state directory/.test(e.message), JSON.stringify(path));
    }
  }
  for (const name of ['.sealsyncx', 'sealsync', '.sealsync-tmp-abc', '.sealignore', '.sealsyn', '..sealsync', '.sea lsync', 'x.sealsync']) {
    assert.equal(isStateDirName(name), false, JSON.stringify(name));
    assert.equal(isInStateDir(`a/${name}/b`), false, JSON.stringify(name));
    assert.equal(validateRelativePath(`a/${name}/b`), `a/${name}/b`);
  }
});

test('caseFoldKey makes case variants collide and keeps others apart', () => {
  assert.equal(caseFoldKey('Readme.TXT'), caseFoldKey('README.txt'));
  assert.equal(caseFoldKey('Stra\u00dfe'), caseFoldKey('STRASSE'));
  assert.equal(caseFoldKey('caf\u0065\u0301'), caseFoldKey('CAF\u00c9'));
  assert.notEqual(caseFoldKey('a.txt'), caseFoldKey('b.txt'));
});

test('utf8Length matches TextEncoder for ASCII, 2-, 3- and 4-byte characters and lone surrogates', () => {
  const enc = new TextEncoder();
  const samples = ['', 'a/b.txt', 'é', 'ß/Straße', '€uro', '日本語/ファイル', '😀', 'a😀b', '\ud800', 'x\udc00y', '\ud83d', '\ud83dz', 'é'.repeat(300)];
  for (const s of samples) assert.equal(utf8Length(s), enc.encode(s).length, JSON.stringify(s));
  let seed = 12345; // fixed pseudo-random code units, surrogates included
  for (let i = 0; i < 2000; i++) {
    let s = '';
    for (let j = 0; j < 8; j++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      s += String.fromCharCode(seed % 0x10000);
    }
    assert.equal(utf8Length(s), enc.encode(s).length, JSON.stringify(s));
  }
});

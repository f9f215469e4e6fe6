import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Encode, base32Length, base32Symbol, bytesToSymbols, symbolsToBytes } from './base32.js';

test('base32 matches RFC 4648 test vectors (without padding)', () => {
  const cases: Array<[string, string]> = [
    ['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of cases) {
    assert.equal(base32Encode(new TextEncoder().encode(plain)), encoded);
  }
});

test('symbols round-trip for every length up to 40 bytes', () => {
  for (let n = 0; n <= 40; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff);
    const symbols = bytesToSymbols(bytes);
    assert.equal(symbols.length, base32Length(n));
    assert.deepEqual(symbolsToBytes(symbols, n), bytes);
  }
});

test('non-canonical trailing bits and wrong counts are rejected', () => {
  const symbols = bytesToSymbols(new Uint8Array(32)); // 52 symbols, 4 unused bits at the end
  const last = symbols.length - 1;
  symbols[last] = 1;
  assert.equal(symbolsToBytes(symbols, 32), undefined);
  assert.equal(symbolsToBytes(symbols.slice(0, last), 32), undefined);
});

test('symbol lookup is case-insensitive and rejects look-alikes', () => {
  assert.equal(base32Symbol('a'), 0);
  assert.equal(base32Symbol('A'), 0);
  assert.equal(base32Symbol('7'), 31);
  for (const ch of ['0', '1', '8', '9', '=', ' ', 'é']) assert.equal(base32Symbol(ch), undefined);
});

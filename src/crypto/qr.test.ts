import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyQrPng, keyQrSvg, keyQrTerminal } from './qr.js';
import { formatKey } from './key-text.js';
import { keysFromSecret } from './keys.js';

const text = formatKey(keysFromSecret(new Uint8Array(32).fill(3)));

test('QR renders as PNG, SVG and terminal text', async () => {
  const png = await keyQrPng(text);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.match(await keyQrSvg(text), /^<svg[\s\S]*<\/svg>\s*$/);
  const term = await keyQrTerminal(text);
  assert.ok(term.split('\n').length > 10);
  assert.notEqual(await keyQrSvg(text), await keyQrSvg(formatKey(keysFromSecret(new Uint8Array(32).fill(4)))));
});

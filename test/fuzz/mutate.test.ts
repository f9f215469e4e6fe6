import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MUTATIONS, Rng, applyMutation, mutate } from './mutate.js';

const INPUT = Uint8Array.from({ length: 64 }, (_, i) => i);
const OPTS = { maxLength: 1024, donor: Uint8Array.from({ length: 32 }, () => 0xee), dictionary: [Uint8Array.of(0x7b, 0x7d)] };

test('the same seed and index give the same mutations; another index, others', () => {
  const a = mutate(INPUT, Rng.derive(5, 42), OPTS);
  const b = mutate(INPUT, Rng.derive(5, 42), OPTS);
  assert.deepEqual(a, b);
  const others = Array.from({ length: 20 }, (_, i) => Buffer.from(mutate(INPUT, Rng.derive(5, 100 + i), OPTS).bytes).toString('hex'));
  assert.ok(new Set(others).size > 15);
});

test('no mutation changes its input in place, and every kind does what it says', () => {
  const rng = new Rng(9);
  for (let round = 0; round < 50; round++) {
    for (const kind of MUTATIONS) {
      const before = INPUT.slice();
      const out = applyMutation(kind, INPUT, rng, OPTS);
      assert.deepEqual(INPUT, before, `${kind} changed its input`);
      if (kind === 'truncate') assert.ok(out.length <= INPUT.length);
      if (kind === 'extend' || kind === 'insert' || kind === 'duplicate') assert.ok(out.length > INPUT.length, kind);
      if (kind === 'delete') assert.ok(out.length < INPUT.length);
      if (kind === 'bitflip') {
        const diff = out.reduce((n, v, i) => n + bitCount(v ^ (INPUT[i] as number)), 0);
        assert.equal(diff, 1);
      }
      if (kind === 'length' || kind === 'byte') assert.equal(out.length, INPUT.length, kind);
    }
  }
});

test('splices take a prefix of the input and a suffix of the donor', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 100; i++) {
    const out = applyMutation('splice', INPUT, rng, OPTS);
    const cut = out.findIndex((v) => v === 0xee);
    const prefix = cut < 0 ? out : out.subarray(0, cut);
    assert.deepEqual(prefix, INPUT.subarray(0, prefix.length));
    if (cut >= 0) assert.ok(out.subarray(cut).every((v) => v === 0xee));
  }
});

test('mutated inputs never exceed maxLength, and empty inputs grow', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 500; i++) assert.ok(mutate(INPUT, rng, { ...OPTS, maxLength: 70, count: 6 }).bytes.length <= 70);
  assert.ok(applyMutation('bitflip', new Uint8Array(0), rng, OPTS).length > 0);
  assert.ok(applyMutation('length', new Uint8Array(0), rng, OPTS).length > 0);
});

function bitCount(v: number): number {
  let n = 0;
  for (let x = v; x; x &= x - 1) n++;
  return n;
}

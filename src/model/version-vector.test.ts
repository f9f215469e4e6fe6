import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import {
  MAX_VECTOR_ENTRIES,
  bumpVector,
  compareVectors,
  lastWriter,
  mergeVectors,
  parseVectorKey,
  validateVector,
  vectorKey,
} from './version-vector.js';
import type { VersionVector } from './types.js';
import { isSealsyncError } from '../errors.js';

const IDS = Array.from({ length: 6 }, () => randomBytes(8).toString('hex'));
const ROUNDS = 2000;

function randomVector(): VersionVector {
  const out = [];
  for (const id of [...IDS].sort()) if (randomInt(2) === 1) out.push({ id, value: randomInt(1, 6) });
  return out;
}

const flip = { greater: 'lesser', lesser: 'greater', equal: 'equal', concurrent: 'concurrent' } as const;

test('compare: hand-picked cases', () => {
  const a = '00000000000000aa';
  const b = '00000000000000bb';
  assert.equal(compareVectors([], []), 'equal');
  assert.equal(compareVectors([{ id: a, value: 1 }], []), 'greater');
  assert.equal(compareVectors([], [{ id: a, value: 1 }]), 'lesser');
  assert.equal(compareVectors([{ id: a, value: 2 }], [{ id: a, value: 1 }, { id: b, value: 1 }]), 'concurrent');
  assert.equal(compareVectors([{ id: a, value: 2 }, { id: b, value: 1 }], [{ id: a, value: 1 }, { id: b, value: 1 }]), 'greater');
});

test('compare is antisymmetric and reflexive (random vectors)', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const a = randomVector();
    const b = randomVector();
    assert.equal(compareVectors(b, a), flip[compareVectors(a, b)]);
    assert.equal(compareVectors(a, a), 'equal');
  }
});

test('merge dominates or equals both inputs and is commutative', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const a = randomVector();
    const b = randomVector();
    const m = mergeVectors(a, b);
    validateVector(m);
    assert.ok(['greater', 'equal'].includes(compareVectors(m, a)));
    assert.ok(['greater', 'equal'].includes(compareVectors(m, b)));
    assert.equal(vectorKey(m), vectorKey(mergeVectors(b, a)));
  }
});

test('bump of a merge strictly dominates both inputs and sets own counter to max+1', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const a = randomVector();
    const b = randomVector();
    const own = IDS[randomInt(IDS.length)] as string;
    const v = bumpVector(mergeVectors(a, b), own);
    validateVector(v);
    assert.equal(compareVectors(v, a), 'greater');
    assert.equal(compareVectors(v, b), 'greater');
    const max = Math.max(0, ...a.map((c) => c.value), ...b.map((c) => c.value));
    assert.equal(v.find((c) => c.id === own)?.value, max + 1);
    assert.equal(lastWriter(v), own);
  }
});

test('validate rejects malformed vectors', () => {
  const a = '00000000000000aa';
  const bad: unknown[] = [
    'x',
    [{ id: 'AA00000000000000', value: 1 }],
    [{ id: a, value: 0 }],
    [{ id: a, value: 1.5 }],
    [{ id: a, value: 2 ** 60 }],
    [{ id: a, value: 1 }, { id: a, value: 2 }],
    [{ id: '00000000000000bb', value: 1 }, { id: a, value: 2 }],
    [null],
    Array.from({ length: MAX_VECTOR_ENTRIES + 1 }, (_, i) => ({ id: i.toString(16).padStart(16, '0'), value: 1 })),
  ];
  for (const v of bad) assert.throws(() => validateVector(v), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  assert.deepEqual(validateVector([{ id: a, value: 3 }]), [{ id: a, value: 3 }]);
});

test('vectorKey round-trips', () => {
  for (let i = 0; i < 200; i++) {
    const v = randomVector();
    assert.deepEqual(parseVectorKey(vectorKey(v)), v);
  }
  assert.throws(() => parseVectorKey('zz:1'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenPaths } from './seen-paths.js';

test('SeenPaths answers exactly for many paths, through growth, in every spelling', () => {
  const seen = new SeenPaths();
  const paths: string[] = [];
  for (let i = 0; i < 50_000; i++) paths.push(`d${i % 300}/f${i}.txt`);
  // names that differ in one code unit, by case, by normalisation, astral and empty-ish ones
  paths.push('a', 'A', 'é', 'e\u0301', '😀/x', '\u{1F600}y', 'x/'.repeat(40) + 'z', ' ');
  for (const p of paths) seen.add(p);
  for (const p of paths) seen.add(p); // adding again changes nothing
  assert.equal(seen.size, paths.length);
  for (const p of paths) assert.equal(seen.has(p), true, p);
  let falsePositives = 0;
  for (let i = 0; i < 50_000; i++) if (seen.has(`d${i % 300}/g${i}.txt`) || seen.has(`d${i % 300}/f${i}.txt `)) falsePositives++;
  assert.equal(falsePositives, 0);
  assert.equal(seen.has(''), false);
  assert.equal(new SeenPaths().has('a'), false);
});

test('separate sets (each with its own seed) each find their own paths', () => {
  const a = new SeenPaths();
  const b = new SeenPaths();
  for (let i = 0; i < 1000; i++) {
    a.add(`p${i}`);
    b.add(`p${i}`);
  }
  for (let i = 0; i < 1000; i++) assert.ok(a.has(`p${i}`) && b.has(`p${i}`));
});

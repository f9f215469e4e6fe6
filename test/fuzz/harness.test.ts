import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCorpusText } from './corpus.js';
import { fuzzTarget, inputAt } from './harness.js';
import { FUZZ_TARGETS } from './registry.js';
import { badOracle, leaky, picky, slow, throwsOnLong } from './fixtures/faulty-targets.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const HANGING = fileURLToPath(new URL('./fixtures/hanging-target.ts', import.meta.url));

test('an input is a function of (seed, index) alone', () => {
  for (const target of FUZZ_TARGETS.slice(0, 3)) {
    const cache = new Map();
    for (const index of [0, 1, 999, 5000]) {
      assert.deepEqual(inputAt(target, 7, index, cache).input, inputAt(target, 7, index).input, `${target.name} #${index}`);
    }
    assert.notDeepEqual(inputAt(target, 7, 1).input, inputAt(target, 8, 1).input);
  }
});

test('catalog errors are not crashes; refused valid samples are counted', async () => {
  const r = await fuzzTarget(picky, { seed: 1, inputs: 500 });
  assert.equal(r.inputs, 500);
  assert.equal(r.crashes.length, 0);
  assert.ok(r.rejectedValid > 0 && r.rejectedValidExample?.includes('ERR_PROTOCOL'));
});

test('a throw that is not a catalog error is a crash, saved to the corpus once per kind, and reproducible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-harness-'));
  try {
    const r = await fuzzTarget(throwsOnLong, { seed: 3, inputs: 2000, corpusDir: dir });
    assert.equal(r.crashes.length, 1, 'one bucket: the same message');
    const [crash] = r.crashes;
    assert.equal(crash?.kind, 'throw');
    assert.match(crash?.message ?? '', /^TypeError: Cannot read/);
    const saved = readdirSync(join(dir, 'throws-on-long'));
    assert.equal(saved.length, 1);
    const input = parseCorpusText(readFileSync(join(dir, 'throws-on-long', saved[0] as string), 'utf8'));
    assert.equal(Buffer.from(input).toString('hex'), crash?.hex);
    assert.deepEqual(inputAt(throwsOnLong, 3, crash?.index ?? -1).input, input, 'seed and index give the input back');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an oracle failure is a crash', async () => {
  const r = await fuzzTarget(badOracle, { seed: 1, inputs: 300 });
  assert.equal(r.crashes[0]?.kind, 'oracle');
});

test('an input over the CPU time bound is a crash', async () => {
  const r = await fuzzTarget(slow, { seed: 1, inputs: 1 });
  assert.equal(r.crashes[0]?.kind, 'time');
  assert.ok(r.slowestMs > 100);
});

test('RSS over the bound is a crash, and ends the target', async () => {
  const r = await fuzzTarget(leaky, { seed: 1, inputs: 200 });
  assert.equal(r.crashes[0]?.kind, 'memory');
  assert.ok(r.inputs < 200);
  assert.ok(r.peakRssMiB > 300);
});

test('the deadline stops a run once the floor of inputs is done', async () => {
  const r = await fuzzTarget(picky, { seed: 1, inputs: 1_000_000, deadline: Date.now(), minInputs: 25 });
  assert.equal(r.inputs, 25);
});

test('a hung decoder is reported by the watchdog, which ends its process', () => {
  const args = { target: 'hanging', seed: 1, inputs: 10, start: 0, deadline: Date.now() + 60_000, minInputs: 0, corpusDir: null, module: HANGING };
  const res = spawnSync(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(res.signal, 'SIGKILL', res.stderr);
  assert.match(res.stdout, /^CRASH hanging \[hang\] no answer after 10 s/m);
  assert.match(res.stdout, /input \(hex\): ff$/m);
});

/**
 * Replays every saved crash input (test/fuzz/corpus/<target>/*.hex) against
 * its target: each must now decode or be refused with a catalog error, pass
 * the target's oracle, and stay within the target's CPU time bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealsyncError } from '../../src/errors.js';
import { readCorpus } from './corpus.js';
import { TIME_RETRIES } from './harness.js';
import { FUZZ_TARGETS, targetNamed } from './registry.js';
import type { FuzzDecoder } from './target.js';

const entries = readCorpus();

test('the corpus is not empty and names only registered targets', () => {
  assert.ok(entries.length > 0, 'no saved crash inputs: the corpus folder was not found');
  for (const e of entries) assert.ok(targetNamed(e.target), `${e.file}: no target named '${e.target}' (registered: ${FUZZ_TARGETS.map((t) => t.name).join(', ')})`);
});

const decoders = new Map<string, FuzzDecoder>();

async function decoderFor(name: string): Promise<FuzzDecoder> {
  let d = decoders.get(name);
  if (!d) {
    d = await (targetNamed(name)?.open() as Promise<FuzzDecoder> | FuzzDecoder);
    decoders.set(name, d);
  }
  return d;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

for (const entry of entries) {
  test(`corpus ${entry.target}/${entry.file.split('/').pop()}`, async () => {
    const target = targetNamed(entry.target);
    assert.ok(target);
    const decoder = await decoderFor(entry.target);
    let cheapest = Infinity;
    for (let run = 0; run <= TIME_RETRIES; run++) {
      const before = cpuMs();
      let decoded: unknown;
      let refused = false;
      try {
        decoded = await decoder.decode(entry.input);
      } catch (err) {
        assert.ok(err instanceof SealsyncError, `not a catalog error: ${String(err)}`);
        refused = true;
      }
      cheapest = Math.min(cheapest, cpuMs() - before);
      if (!refused) await decoder.check?.(entry.input, decoded);
      if (cheapest <= target.bounds.msPerInput) break;
    }
    assert.ok(cheapest <= target.bounds.msPerInput, `${cheapest.toFixed(1)} ms of CPU (bound ${target.bounds.msPerInput} ms)`);
  });
}

test('close the decoders', async () => {
  for (const d of decoders.values()) await d.close?.();
});

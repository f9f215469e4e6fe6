/**
 * CI's fuzz run: the fuzz harness (harness.ts, what `npm run fuzz` runs in one
 * process per target) on every registered target, one after another in this
 * process, for at most 60 s in all: each target gets an equal share of what
 * is left, and runs at least MIN_INPUTS inputs. A fixed seed, so a change
 * that breaks a decoder fails the same way every time. Crash inputs go to a
 * temporary folder, not into the source tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzTarget, type FuzzRunResult } from './harness.js';
import { FUZZ_TARGETS } from './registry.js';

const CAP_MS = 60_000;
/** Kept back from the cap for the last target's overrun (its current input and closing). */
const MARGIN_MS = 5_000;
const MIN_INPUTS = 10;
/**
 * RSS of a fresh process running one target before it decodes anything
 * (tsx, fast-check, the target's modules): measured 110-150 MiB. Here the
 * targets share one process, so each may use its bound above what the ones
 * before it left in the RSS beyond that.
 */
const FRESH_PROCESS_RSS_MIB = 150;

test('every fuzz target runs for its share of 60 s with 0 crashes', async () => {
  const corpusDir = mkdtempSync(join(tmpdir(), 'sealsync-fuzz-'));
  const started = Date.now();
  const end = started + CAP_MS - MARGIN_MS;
  const results: FuzzRunResult[] = [];
  try {
    for (const [i, target] of FUZZ_TARGETS.entries()) {
      const deadline = Date.now() + Math.max(0, end - Date.now()) / (FUZZ_TARGETS.length - i);
      const inherited = Math.max(0, process.memoryUsage.rss() / 1024 / 1024 - FRESH_PROCESS_RSS_MIB);
      const rssBoundMiB = Math.round(target.bounds.rssMiB + inherited);
      results.push(await fuzzTarget(target, { seed: 1, inputs: 1_000_000, deadline, minInputs: MIN_INPUTS, corpusDir, rssBoundMiB }));
    }
  } finally {
    rmSync(corpusDir, { recursive: true, force: true });
  }
  const elapsed = Date.now() - started;
  const summary = results.map((r) => `${r.target}: ${r.inputs} inputs, ${r.crashes.length} crashes, slowest ${r.slowestMs.toFixed(1)} ms, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`).join('\n');
  for (const r of results) {
    const crashes = r.crashes.map((c) => `[${c.kind}] ${c.message} (seed 1, --start ${c.index}) input ${c.hex.slice(0, 400)}`).join('\n');
    assert.equal(r.crashes.length, 0, `${r.target} crashed:\n${crashes}`);
    assert.equal(r.rejectedValid, 0, `${r.target} refused its own valid samples: ${r.rejectedValidExample}`);
    assert.ok(r.inputs >= MIN_INPUTS, `${r.target} ran only ${r.inputs} inputs`);
  }
  assert.ok(elapsed <= CAP_MS, `the run took ${(elapsed / 1000).toFixed(1)} s (cap ${CAP_MS / 1000} s):\n${summary}`);
  console.log(summary);
});

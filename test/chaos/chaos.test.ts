/**
 * The chaos run in CI: five real daemons, one round of each fault kind
 * (kill -9, cut link, slow link, full disk, clock jump) after random edits;
 * nothing may be lost, corrupted, leaked to the encrypted devices or spread
 * from the read-only device, and every round must converge.
 * The long run is `npm run chaos` (see docs/reliability.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './chaos-run.js';
import { FAULT_KINDS } from './faults.js';

const ROUNDS = FAULT_KINDS.length;
/**
 * A safety bound only: the five rounds must all run (each wait in them has its
 * own timeout). About three minutes in all on an idle two-core machine.
 */
const MINUTES = 10;

test('chaos: every fault kind, nothing lost', { skip: process.getuid?.() !== 0 ? 'needs root (mounts a tmpfs)' : false }, async (t) => {
  const rounds: Record<string, unknown>[] = [];
  const summary = await runChaos({
    rounds: ROUNDS, seed: 15, minutes: MINUTES, logPath: null, faultOrder: 'cycle', convergeTimeoutMs: 60_000,
    onLine: (line) => { if (line.type === 'round') rounds.push(line); },
  });
  t.diagnostic(JSON.stringify(summary));
  const failed = rounds.filter((r) => r.error || !r.converged || r.lostBytes !== 0 || r.corruptBytes !== 0
    || (r.leaks as unknown[]).length > 0 || (r.roSpread as unknown[]).length > 0 || (r.roNotReported as unknown[]).length > 0
    || (r.crashed as unknown[]).length > 0 || r.roReverted === false);
  assert.deepEqual(failed, [], 'every round converged and lost nothing');
  assert.ok(summary.rounds >= FAULT_KINDS.length, `at least one round of each fault kind ran (${summary.rounds} rounds)`);
  for (const k of FAULT_KINDS) assert.ok(summary.faults[k] >= 1, `fault ${k} was injected`);
  assert.equal(summary.lostBytes, 0);
  assert.equal(summary.storeDamage, 0, 'the encrypted stores verify clean');
  assert.equal(summary.finalStores.length, 2, 'both encrypted stores were verified at the end');
  assert.ok(summary.bytesMoved > 0, 'the proxies carried the traffic');
});

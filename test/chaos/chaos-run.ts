/**
 * The chaos run: rounds of random edits, one fault, healing and checks on a
 * five-daemon cluster (cluster.ts), logged as one JSON line per round:
 *
 *   {"type":"round","round":12,"edits":[…],"fault":{"kind":"cut",…},
 *    "bytesMoved":123456,"convergeMs":2300,"converged":true,"lostBytes":0,…}
 *
 * and a last {"type":"summary",…} line. Seeded: the same seed gives the same
 * edits and faults (timings, and so what races with what, still vary).
 * Bounded: at most `rounds` rounds, no round starts later than `minutes`
 * after setup, and each wait has its own timeout.
 */
import { appendFile } from 'node:fs/promises';
import { REPO_ROOT } from '../e2e/helpers/harness.js';
import { prng } from '../e2e/helpers/tree.js';
import { ChaosCluster } from './cluster.js';
import { checkRound, readTree, verifyStores, waitConverged, type StoreVerdict } from './checks.js';
import { EditLedger, pick } from './edits.js';
import { FAULT_KINDS, injectFault, type FaultKind } from './faults.js';

export const DEFAULT_CONVERGE_TIMEOUT_MS = 120_000;
const SEED_FILES = 20;
const STDERR_TAIL_CHARS = 2000;
/** The run stops when this many rounds in a row failed in the harness. */
const MAX_FAILED_ROUNDS_IN_A_ROW = 3;

export interface ChaosOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly minutes: number;
  /** JSON lines are appended here; null: not written. */
  readonly logPath: string | null;
  readonly convergeTimeoutMs?: number;
  /** 'cycle': round n gets FAULT_KINDS[(n - 1) % 5], so a short run sees every kind; default 'random'. */
  readonly faultOrder?: 'random' | 'cycle';
  readonly signal?: AbortSignal;
  /** Called with every line (round and summary). */
  readonly onLine?: (line: Record<string, unknown>) => void;
}

export interface ChaosSummary {
  readonly type: 'summary';
  readonly seed: number;
  readonly rounds: number;
  readonly faults: Record<FaultKind, number>;
  readonly bytesMoved: number;
  readonly lostBytes: number;
  readonly corruptBytes: number;
  /** Rounds that did not converge within the timeout. */
  readonly stalls: number;
  /** Daemons that died without being killed. */
  readonly crashes: number;
  readonly roSpread: number;
  readonly roNotReported: number;
  readonly leaks: number;
  readonly maxConvergeMs: number;
  /** Corrupt or missing blocks `folder verify` found on the encrypted devices (after a kill -9 of one, and at the end). */
  readonly storeDamage: number;
  /** `folder verify` of both encrypted devices at the end of the run. */
  readonly finalStores: readonly StoreVerdict[];
  /** Rounds a harness step failed in (logged with the error). */
  readonly errors: number;
  readonly durationMs: number;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const timeoutMs = opts.convergeTimeoutMs ?? DEFAULT_CONVERGE_TIMEOUT_MS;
  const rng = prng(opts.seed);
  const ledger = new EditLedger(rng);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const totals = { errors: 0, storeDamage: 0, finalStores: [] as StoreVerdict[], bytesMoved: 0, lostBytes: 0, corruptBytes: 0, stalls: 0, crashes: 0, roSpread: 0, roNotReported: 0, leaks: 0, maxConvergeMs: 0 };
  // Paths of this machine (the checkout, the temp root) stay out of the log, which gets committed.
  let tempRoot: string | null = null;
  const scrub = (text: string) => {
    let out = text.split(`${REPO_ROOT}/`).join('');
    if (tempRoot) out = out.split(tempRoot).join('<root>');
    return out;
  };
  const emit = async (line: Record<string, unknown>) => {
    if (opts.logPath) await appendFile(opts.logPath, `${scrub(JSON.stringify(line))}\n`);
    opts.onLine?.(line);
  };

  const cluster = await ChaosCluster.create();
  tempRoot = cluster.root;
  let rounds = 0;
  try {
    await ledger.seed(cluster.device('a'), SEED_FILES);
    const setup = await waitConverged(cluster, new Set(), timeoutMs);
    await emit({
      type: 'setup', seed: opts.seed, files: SEED_FILES, converged: setup.converged, convergeMs: setup.ms,
      reason: setup.reason, waitedOn: setup.seen, bytesMoved: cluster.bytesMoved,
    });
    if (!setup.converged) throw new Error(`the cluster did not converge after setup: ${setup.reason}`);

    // Rounds get `minutes` of their own: setup on a loaded machine must not eat them.
    const deadline = Date.now() + opts.minutes * 60_000;
    let failedInARow = 0;
    for (let round = 1; round <= opts.rounds && Date.now() < deadline && !opts.signal?.aborted; round++) {
      try {
        await playRound(round);
        failedInARow = 0;
      } catch (err) {
        // A harness step failed (e.g. a daemon did not come back): say so, bring everything back, go on.
        rounds = round;
        totals.errors++;
        await emit({ type: 'round', round, error: err instanceof Error ? err.stack ?? err.message : String(err) });
        await cluster.ensureRunning().catch(() => undefined);
        if (++failedInARow >= MAX_FAILED_ROUNDS_IN_A_ROW) throw err;
      }
    }
    // The end: both encrypted stores re-hashed in full.
    if ((await waitConverged(cluster, new Set(), timeoutMs)).converged) {
      totals.finalStores = await verifyStores(cluster.encryptedDevices);
      for (const v of totals.finalStores) totals.storeDamage += v.corruptCount + v.missingCount;
    }
  } finally {
    await cluster.stop();
  }
  const summary: ChaosSummary = { type: 'summary', seed: opts.seed, rounds, faults, ...totals, durationMs: Date.now() - started };
  await emit({ ...summary });
  return summary;

  async function playRound(round: number): Promise<void> {
    const roundStart = Date.now();
    const bytesBefore = cluster.bytesMoved;
    const before = await readTree(cluster.device('a').dir);
    const edits = await ledger.batch(cluster, round);
    const kind = opts.faultOrder === 'cycle' ? FAULT_KINDS[(round - 1) % FAULT_KINDS.length] as FaultKind : pick(rng, FAULT_KINDS);
    const fault = await injectFault(cluster, rng, kind, ledger, edits);
    faults[kind]++;
    const crashed: { device: string; stderr: string }[] = [];
    for (const d of cluster.devices.values()) {
      if (d.daemon.running) continue;
      crashed.push({ device: d.name, stderr: d.daemon.logs().stderr.slice(-STDERR_TAIL_CHARS) });
      await cluster.restart(d);
    }
    const conv = await waitConverged(cluster, edits.roPaths, timeoutMs);
    const checkStart = Date.now();
    const check = await checkRound(cluster, ledger, edits, before, roundStart);
    // A daemon killed while it wrote its store: every block must still be whole.
    const killedStore = fault.kind === 'kill9' ? cluster.encryptedDevices.filter((d) => d.name === fault.target) : [];
    const stores = conv.converged ? await verifyStores(killedStore) : [];
    const checkMs = Date.now() - checkStart;
    let roReverted: boolean | null = null;
    let revertReason: string | null = null;
    let revertMs = 0;
    if (edits.roPaths.size > 0) {
      const c = cluster.device('c');
      await c.home.client.request('POST', '/api/folders/revert', { path: c.dir });
      const after = await waitConverged(cluster, new Set(), timeoutMs);
      roReverted = after.converged;
      revertReason = after.reason;
      revertMs = after.ms;
    }
    const bytesMoved = cluster.bytesMoved - bytesBefore;
    rounds = round;
    totals.bytesMoved += bytesMoved;
    totals.lostBytes += check.lostBytes;
    totals.corruptBytes += check.corruptBytes;
    totals.stalls += conv.converged && roReverted !== false ? 0 : 1;
    totals.crashes += crashed.length;
    totals.roSpread += check.roSpread.length;
    totals.roNotReported += check.roNotReported.length;
    totals.leaks += check.leaks.length;
    for (const v of stores) totals.storeDamage += v.corruptCount + v.missingCount;
    totals.maxConvergeMs = Math.max(totals.maxConvergeMs, conv.ms);
    await emit({
      type: 'round', round, edits: edits.log, fault,
      bytesMoved, convergeMs: conv.ms, converged: conv.converged, reason: conv.reason, waitedOn: conv.seen, checkMs, revertMs,
      mustSurvive: edits.mustSurvive.length, lostBytes: check.lostBytes, lost: check.lost,
      corruptBytes: check.corruptBytes, corrupt: check.corrupt,
      roEdits: edits.roPaths.size,
      roSpread: check.roSpread, roNotReported: check.roNotReported, roReverted, revertReason,
      leaks: check.leaks, anomalies: check.anomalies, crashed, stores, roundMs: Date.now() - roundStart,
    });
  }
}

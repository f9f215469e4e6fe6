/**
 * `npm run chaos -- --rounds 500 --seed 1 --minutes 120 --log chaos.jsonl`
 *
 * Runs the chaos run (chaos-run.ts) and prints one short line per round and
 * the summary. Exits 1 when any byte was lost or corrupted, a read-only edit
 * spread, plaintext was found on an encrypted device, or a round did not
 * converge. Needs root (b's folder is on a tmpfs it mounts and unmounts).
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-run.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '10' },
    log: { type: 'string', default: 'chaos-log.jsonl' },
    'converge-timeout': { type: 'string', default: '120' },
    'fault-order': { type: 'string', default: 'random' },
  },
});

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`chaos: --${name} must be a positive number, got "${text}"`);
    process.exit(2);
  }
  return n;
}

const rounds = Math.floor(positive('rounds', values.rounds));
const seed = Math.floor(positive('seed', values.seed));
const minutes = positive('minutes', values.minutes);
const convergeTimeoutMs = positive('converge-timeout', values['converge-timeout']) * 1000;

const faultOrder = values['fault-order'];
if (faultOrder !== 'random' && faultOrder !== 'cycle') {
  console.error(`chaos: --fault-order must be random or cycle, got "${faultOrder}"`);
  process.exit(2);
}

const abort = new AbortController();
// Every signal is caught (tsx forwards one, a user may send another): the run always
// ends through its cleanup, which unmounts the tmpfs and stops the daemons.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (!abort.signal.aborted) console.error(`chaos: ${sig}: stopping after this round (the cluster is cleaned up)`);
    abort.abort();
  });
}

const summary = await runChaos({
  rounds, seed, minutes, convergeTimeoutMs, faultOrder, logPath: values.log || null, signal: abort.signal,
  onLine: (line) => {
    if (line.type === 'round' && typeof line.error === 'string') {
      console.log(`round ${String(line.round)}: HARNESS ERROR ${line.error}`);
    } else if (line.type === 'round') {
      const f = line.fault as { kind: string; target: string };
      console.log(`round ${String(line.round)}: ${(line.edits as unknown[]).length} edits, ${f.kind} ${f.target}, ` +
        `${String(line.bytesMoved)} B moved, ${line.converged ? `converged in ${String(line.convergeMs)} ms` : `NOT converged: ${String(line.reason)}`}, ` +
        `lost ${String(line.lostBytes)} B`);
    } else {
      console.log(JSON.stringify(line));
    }
  },
});
const bad = summary.storeDamage + summary.errors + summary.lostBytes + summary.corruptBytes + summary.roSpread + summary.leaks + summary.stalls + summary.crashes + summary.roNotReported;
process.exit(bad > 0 ? 1 : 0);

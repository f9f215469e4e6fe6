/**
 * `tsx test/chaos/summarize.ts LOG.jsonl[.gz]`: the figures of a chaos run log
 * (as in docs/reliability.md), from its round lines — also for a run that was
 * cut short and wrote no summary line.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const path = process.argv[2];
if (!path) {
  console.error('usage: summarize.ts LOG.jsonl[.gz]');
  process.exit(2);
}
const raw = readFileSync(path);
const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
const rounds = lines.filter((l) => l.type === 'round');
const ok = rounds.filter((r) => r.error === undefined);
const faults: Record<string, number> = {};
for (const r of ok) {
  const kind = (r.fault as { kind: string }).kind;
  faults[kind] = (faults[kind] ?? 0) + 1;
}
const ops: Record<string, number> = {};
for (const r of ok) for (const e of r.edits as { op: string }[]) ops[e.op] = (ops[e.op] ?? 0) + 1;
const sum = (key: string) => ok.reduce((n, r) => n + (typeof r[key] === 'number' ? (r[key] as number) : 0), 0);
const count = (key: string) => ok.reduce((n, r) => n + (Array.isArray(r[key]) ? (r[key] as unknown[]).length : 0), 0);
const converge = ok.map((r) => r.convergeMs as number).sort((x, y) => x - y);
const at = (q: number) => converge[Math.min(converge.length - 1, Math.floor(q * converge.length))] ?? 0;
const setup = lines.find((l) => l.type === 'setup');
const summary = lines.find((l) => l.type === 'summary');
console.log(JSON.stringify({
  rounds: rounds.length,
  harnessErrors: rounds.length - ok.length,
  faults,
  edits: ok.reduce((n, r) => n + (r.edits as unknown[]).length, 0),
  editsByOp: ops,
  writesThatMustSurvive: sum('mustSurvive'),
  readOnlyEdits: sum('roEdits'),
  bytesMoved: sum('bytesMoved') + ((setup?.bytesMoved as number | undefined) ?? 0),
  lostBytes: sum('lostBytes'),
  corruptBytes: sum('corruptBytes'),
  notConverged: ok.filter((r) => !r.converged || r.roReverted === false).length,
  readOnlySpread: count('roSpread'),
  readOnlyNotReported: count('roNotReported'),
  plaintextFindings: count('leaks'),
  crashes: count('crashed'),
  storeVerifies: count('stores'),
  storeDamage: ok.reduce((n, r) => n + ((r.stores as { corruptCount: number; missingCount: number }[] | undefined) ?? [])
    .reduce((m, v) => m + v.corruptCount + v.missingCount, 0), 0),
  convergeMs: { median: at(0.5), p95: at(0.95), max: converge.at(-1) ?? 0 },
  finalStores: summary?.finalStores ?? null,
  durationMs: summary?.durationMs ?? null,
}, null, 2));

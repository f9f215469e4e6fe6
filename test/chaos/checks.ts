/**
 * The chaos run's checks after healing:
 *
 * - converged: every daemon runs and every link is up; every folder is idle
 *   with nothing needed and no error; all five devices hold the same sealed
 *   records (the global view is the same for rw, ro and encrypted peers);
 *   the two rw trees are identical and the ro tree matches them except where
 *   it has local changes; and all of this twice in a row.
 * - survived: each write that must survive is somewhere on a rw device — a
 *   file under any name, a sync-conflict copy, or an archived version.
 * - untouched: files no edit touched this round kept their content.
 * - no corruption: every file on a rw device holds content that was written
 *   (nothing half-written under a real name).
 * - read-only edits: never on a rw device, and listed by the ro folder's status.
 * - no plaintext: the encrypted devices' homes and stores hold no name and no
 *   64-byte slice of any content written this round.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SLICE_BYTES, listFiles } from '../e2e/helpers/replica-checks.js';
import type { ChaosCluster, Device } from './cluster.js';
import { listTree, sha256, type EditLedger, type RoundEdits } from './edits.js';

const POLL_MS = 500;
/** Distance between the content slices the plaintext check looks for (below the smallest block of a multi-block file). */
const SAMPLE_STRIDE = 16 * 1024;
/** Distinct reasons for not having converged kept per wait (what the cluster was waiting on). */
const MAX_REASONS = 12;
/** mtimes are compared with a margin for filesystem timestamp granularity. */
const MTIME_SLACK_MS = 2000;

export type Tree = Map<string, { digest: string; size: number }>;

export async function readTree(root: string): Promise<Tree> {
  const out: Tree = new Map();
  for (const rel of await listTree(root)) {
    const data = await readFile(join(root, rel)).catch(() => null);
    if (data) out.set(rel, { digest: sha256(data), size: data.length });
  }
  return out;
}

/** Digests of every archived version on `d`. */
async function archiveDigests(d: Device): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of await listFiles([join(d.dir, '.sealsync', 'archive')])) {
    const data = await readFile(f).catch(() => null);
    if (data) out.add(sha256(data));
  }
  return out;
}

function sameTrees(x: Tree, y: Tree, except: ReadonlySet<string> = new Set()): string | null {
  for (const [p, e] of x) {
    if (except.has(p)) continue;
    if (y.get(p)?.digest !== e.digest) return `${p} differs`;
  }
  for (const p of y.keys()) if (!except.has(p) && !x.has(p)) return `${p} only on one side`;
  return null;
}

/** One look at the cluster: null when converged, else why not. */
async function divergence(cluster: ChaosCluster, roPaths: ReadonlySet<string>): Promise<string | null> {
  const down = await cluster.linksUp();
  if (down) return down;
  for (const d of cluster.devices.values()) {
    const f = await cluster.folderStatus(d);
    if (!f) return `${d.name} has no folder`;
    if (f.state !== 'idle' || f.needFiles !== 0 || f.error !== null) {
      return `${d.name} is ${f.state}, needs ${f.needFiles}, error ${f.error ?? 'none'}`;
    }
  }
  const sets = [...cluster.devices.values()].map((d) => [d.name, cluster.recordSet(d)] as const);
  for (const [name, set] of sets.slice(1)) if (set !== sets[0]?.[1]) return `records of ${name} differ from ${sets[0]?.[0]}`;
  const a = await readTree(cluster.device('a').dir);
  const bDiff = sameTrees(a, await readTree(cluster.device('b').dir));
  if (bDiff) return `a/b: ${bDiff}`;
  const cDiff = sameTrees(a, await readTree(cluster.device('c').dir), roPaths);
  if (cDiff) return `a/c: ${cDiff}`;
  return null;
}

/** Waits until the cluster has converged (twice in a row); returns the time it took, or the last reason. */
export async function waitConverged(
  cluster: ChaosCluster,
  roPaths: ReadonlySet<string>,
  timeoutMs: number,
): Promise<{ converged: boolean; ms: number; reason: string | null; seen: string[] }> {
  const started = Date.now();
  let reason: string | null = 'not looked yet';
  let okOnce = false;
  const seen: string[] = [];
  while (Date.now() - started < timeoutMs) {
    try {
      reason = await divergence(cluster, roPaths);
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (reason !== null && seen.at(-1) !== reason && seen.length < MAX_REASONS) seen.push(reason);
    if (reason === null && okOnce) return { converged: true, ms: Date.now() - started, reason: null, seen };
    okOnce = reason === null;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { converged: false, ms: Date.now() - started, reason, seen };
}

/**
 * Looks for each name (UTF-8 and UTF-16) and for SLICE_BYTES-long slices of
 * each content taken every SAMPLE_STRIDE bytes (and its last slice) in every
 * byte of `files`. Blocks are at least 32 KiB unless a file is smaller, so a
 * leaked block always contains a sample; native search keeps this fast on
 * stores of many MiB, where a rolling hash over every offset in JS is not.
 */
export async function findPlaintext(files: readonly string[], names: readonly string[], contents: readonly Buffer[]): Promise<string[]> {
  const needles: { what: string; bytes: Buffer }[] = [];
  for (const n of names) {
    needles.push({ what: `name ${n}`, bytes: Buffer.from(n, 'utf8') }, { what: `name ${n} (utf-16)`, bytes: Buffer.from(n, 'utf16le') });
  }
  contents.forEach((c, i) => {
    for (let at = 0; at + SLICE_BYTES <= c.length; at += SAMPLE_STRIDE) needles.push({ what: `content #${i} at ${at}`, bytes: c.subarray(at, at + SLICE_BYTES) });
    if (c.length >= SLICE_BYTES) needles.push({ what: `content #${i} tail`, bytes: c.subarray(c.length - SLICE_BYTES) });
  });
  const found: string[] = [];
  for (const f of files) {
    const data = await readFile(f).catch(() => null);
    if (!data) continue;
    for (const n of needles) if (data.indexOf(n.bytes) >= 0) found.push(`${f}: ${n.what}`);
  }
  return found;
}

export interface CheckReport {
  readonly lostBytes: number;
  readonly lost: string[];
  readonly corruptBytes: number;
  readonly corrupt: string[];
  readonly roSpread: string[];
  readonly roNotReported: string[];
  readonly leaks: string[];
  /** Odd but not a loss (e.g. an untouched path changed while its content is still held). */
  readonly anomalies: string[];
}

/** Every check after convergence (see the module header). `before` is a's tree before the round. */
export async function checkRound(
  cluster: ChaosCluster, ledger: EditLedger, edits: RoundEdits, before: Tree, roundStartMs: number,
): Promise<CheckReport> {
  const rw = cluster.rwDevices;
  const trees = await Promise.all(rw.map((d) => readTree(d.dir)));
  const held = new Set<string>();
  for (const t of trees) for (const e of t.values()) held.add(e.digest);
  for (const d of rw) for (const dg of await archiveDigests(d)) held.add(dg);

  const lost: string[] = [];
  let lostBytes = 0;
  for (const w of edits.mustSurvive) {
    if (held.has(w.digest)) continue;
    lost.push(`${w.id} (${w.path}, ${w.size} bytes)`);
    lostBytes += w.size;
  }
  const a = trees[0] as Tree;
  const anomalies: string[] = [];
  for (const [p, e] of before) {
    if (edits.touched.has(p) || a.get(p)?.digest === e.digest) continue;
    if (held.has(e.digest)) {
      anomalies.push(`untouched ${p} changed on a (its content is still held)`);
      continue;
    }
    lost.push(`untouched ${p} (${e.size} bytes) vanished`);
    lostBytes += e.size;
  }

  const corrupt: string[] = [];
  let corruptBytes = 0;
  rw.forEach((d, i) => {
    for (const [p, e] of trees[i] as Tree) {
      if (ledger.known.has(e.digest)) continue;
      corrupt.push(`${d.name}:${p}`);
      corruptBytes += e.size;
    }
  });

  const roSpread: string[] = [];
  for (const w of edits.readOnly) if (held.has(w.digest)) roSpread.push(w.path);
  const roNotReported: string[] = [];
  if (edits.roPaths.size > 0) {
    const c = cluster.device('c');
    const reported = new Set((await cluster.folderStatus(c))?.localChanges ?? []);
    for (const p of edits.roPaths) {
      const onDisk = (await readTree(c.dir)).get(p)?.digest;
      const global = a.get(p)?.digest;
      if (onDisk !== global && !reported.has(p)) roNotReported.push(p);
    }
  }

  // This round's names and contents can only be in files written since the round began.
  const files: string[] = [];
  for (const f of await listFiles(cluster.encryptedDevices.flatMap((d) => [d.home.home, d.dir]))) {
    const st = await stat(f).catch(() => null);
    if (st && st.mtimeMs >= roundStartMs - MTIME_SLACK_MS) files.push(f);
  }
  const leaks = await findPlaintext(files, edits.names, edits.contents);
  return { lostBytes, lost, corruptBytes, corrupt, roSpread, roNotReported, leaks, anomalies };
}

export interface StoreVerdict {
  readonly device: string;
  readonly checkedBlocks: number;
  readonly corruptCount: number;
  readonly missingCount: number;
}

/** `folder verify` on encrypted devices: every stored block re-hashed, every referenced block present. */
export async function verifyStores(devices: readonly Device[]): Promise<StoreVerdict[]> {
  const out: StoreVerdict[] = [];
  for (const d of devices) {
    const { report } = await d.home.client.request<{ report: { checkedBlocks: number; corruptCount: number; missingCount: number } }>(
      'POST', '/api/folders/verify', { path: d.dir },
    );
    out.push({ device: d.name, checkedBlocks: report.checkedBlocks, corruptCount: report.corruptCount, missingCount: report.missingCount });
  }
  return out;
}

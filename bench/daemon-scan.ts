/**
 * Daemon scan benchmark: the whole local path (walk -> hash pool -> seal
 * record -> SQLite index) through a REAL daemon (the compiled CLI in dist/),
 * configured over the control socket like `sealsync folder add` does.
 *
 *   big:     `folder add` of 1 GiB in 8 files -> time until the folder is idle
 *            with exact counts -> MB/s and the daemon's peak RSS
 *   small:   10,000 files of 4 KiB in 100 dirs -> files/s
 *   rescan:  100,000 small files; after the initial scan, a waiting rescan
 *            (`sealsync folder rescan PATH --wait`, sent over the socket so no
 *            Node start-up is timed) -> seconds
 *
 * Each scenario runs on a fresh daemon so its peak RSS is its own. Files were
 * just written, so they are read from the page cache.
 *
 * `npx tsx bench/daemon-scan.ts [--scale F] [--only big,small,rescan]` or
 * `npm run bench -- daemon-scan --scale 0.25`. Profile the daemon with
 * `SEALSYNC_BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR"`.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';
import { bigFiles, smallFiles, type DataSet } from './lib/datasets.js';
import { SealsyncNode, ensureBuilt, newWriteKey, sleep } from './lib/sealsync.js';
import { argValue } from './lib/args.js';

const MiB = 1024 * 1024;
const BIG_TOTAL_BYTES = 1024 * MiB;
const BIG_FILES = 8;
const SMALL_FILES = 10_000;
const SMALL_FILE_BYTES = 4096;
const SMALL_DIRS = 100;
const RESCAN_FILES = 100_000;
const RESCAN_FILE_BYTES = 16;
const RESCAN_DIRS = 500;
/** No scenario may take longer than this (initial scan of the 100k tree included). */
const SCENARIO_TIMEOUT_MS = 600_000;
const POLL_MS = 50;

const TARGET_MBPS = 250;
const TARGET_FILES_PER_S = 3000;
const TARGET_RESCAN_S = 5;
const TARGET_RSS_MIB = 150;

interface Row {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly pass: boolean;
  readonly note: string;
}

/** A fresh daemon in its own home under `dir`. */
async function freshDaemon(dir: string, name: string): Promise<SealsyncNode> {
  const home = join(dir, `home-${name}`);
  const node = new SealsyncNode(home, name);
  node.init();
  await node.start();
  return node;
}

/** Polls status until the folder is idle with exactly the data set's files and bytes. */
async function waitIdle(node: SealsyncNode, path: string, want: DataSet): Promise<void> {
  const deadline = Date.now() + SCENARIO_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const f = await node.folder(path);
    if (f?.error) throw new Error(`folder error: ${f.error}`);
    if (f && (f.state === 'idle' || f.state === 'unshared') && f.localFiles === want.files && f.localBytes === want.bytes) return;
    last = f ? `${f.state} ${f.localFiles} files ${f.localBytes} bytes` : 'not listed';
    await sleep(POLL_MS);
  }
  throw new Error(`folder ${path} not idle with ${want.files} files in time (last: ${last})`);
}

/** `folder add` then wait for idle; returns wall seconds from the request to idle. */
async function addAndScan(node: SealsyncNode, path: string, want: DataSet): Promise<number> {
  const key = await newWriteKey();
  const t0 = performance.now();
  await node.api('POST', '/api/folders', { path: realpathSync(path), key });
  await waitIdle(node, realpathSync(path), want);
  return (performance.now() - t0) / 1000;
}

async function benchBig(dir: string, scale: number): Promise<Row[]> {
  const data = join(dir, 'big');
  const each = Math.max(MiB, Math.round((BIG_TOTAL_BYTES * scale) / BIG_FILES / MiB) * MiB);
  const set = bigFiles(data, BIG_FILES, each);
  const node = await freshDaemon(dir, 'big');
  try {
    const s = await addAndScan(node, data, set);
    const stats = await node.stop();
    const mbps = set.bytes / 1e6 / s;
    const rssMiB = stats.peakRssBytes / MiB;
    console.log(`big: ${BIG_FILES} x ${each / MiB} MiB in ${s.toFixed(2)} s = ${mbps.toFixed(0)} MB/s, daemon CPU ${stats.cpuSeconds.toFixed(2)} s, peak RSS ${rssMiB.toFixed(0)} MiB`);
    return [
      { metric: `scan ${(set.bytes / MiB).toFixed(0)} MiB new data`, value: mbps, unit: 'MB/s', target: `>= ${TARGET_MBPS}`, pass: mbps >= TARGET_MBPS, note: `${s.toFixed(2)} s` },
      { metric: 'peak RSS (big scan)', value: rssMiB, unit: 'MiB', target: `<= ${TARGET_RSS_MIB}`, pass: rssMiB <= TARGET_RSS_MIB, note: 'daemon tree, VmHWM' },
    ];
  } finally {
    await node.stop();
  }
}

async function benchSmall(dir: string, scale: number): Promise<Row[]> {
  const data = join(dir, 'small');
  const count = Math.max(100, Math.round(SMALL_FILES * scale));
  const set = smallFiles(data, count, SMALL_FILE_BYTES, SMALL_DIRS);
  const node = await freshDaemon(dir, 'small');
  try {
    const s = await addAndScan(node, data, set);
    const stats = await node.stop();
    const fps = set.files / s;
    console.log(`small: ${count} x 4 KiB in ${s.toFixed(2)} s = ${fps.toFixed(0)} files/s, daemon CPU ${stats.cpuSeconds.toFixed(2)} s, peak RSS ${(stats.peakRssBytes / MiB).toFixed(0)} MiB`);
    return [{ metric: `scan ${count} x 4 KiB files`, value: fps, unit: 'files/s', target: `>= ${TARGET_FILES_PER_S}`, pass: fps >= TARGET_FILES_PER_S, note: `${s.toFixed(2)} s` }];
  } finally {
    await node.stop();
  }
}

/** Many tiny files quickly (one small random buffer per file is enough here). */
function tinyFiles(dir: string, count: number): DataSet {
  const buf = Buffer.allocUnsafe(RESCAN_FILE_BYTES);
  for (let d = 0; d < RESCAN_DIRS; d++) mkdirSync(join(dir, `d${d}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    randomFillSync(buf);
    writeFileSync(join(dir, `d${i % RESCAN_DIRS}`, `f${i}.txt`), buf);
  }
  return { files: count, bytes: count * RESCAN_FILE_BYTES };
}

async function benchRescan(dir: string, scale: number): Promise<Row[]> {
  const data = join(dir, 'tree');
  const count = Math.max(1000, Math.round(RESCAN_FILES * scale));
  const t0 = performance.now();
  const set = tinyFiles(data, count);
  console.log(`rescan: created ${count} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const node = await freshDaemon(dir, 'rescan');
  try {
    const initial = await addAndScan(node, data, set);
    console.log(`rescan: initial scan of ${count} files ${initial.toFixed(2)} s = ${(count / initial).toFixed(0)} files/s`);
    const t1 = performance.now();
    const res = await node.api<{ folder: { localFiles: number } }>('POST', '/api/folders/rescan', { path: realpathSync(data), wait: true });
    const s = (performance.now() - t1) / 1000;
    if (res.folder.localFiles !== count) throw new Error(`rescan reports ${res.folder.localFiles} files, want ${count}`);
    const stats = await node.stop();
    console.log(`rescan: ${count} unchanged files in ${s.toFixed(2)} s, daemon CPU ${stats.cpuSeconds.toFixed(2)} s (whole life), peak RSS ${(stats.peakRssBytes / MiB).toFixed(0)} MiB`);
    return [
      { metric: `rescan ${count} unchanged files`, value: s, unit: 's', target: `<= ${TARGET_RESCAN_S}`, pass: s <= TARGET_RESCAN_S, note: '' },
      { metric: `initial scan ${count} tiny files`, value: count / initial, unit: 'files/s', target: `>= ${TARGET_FILES_PER_S}`, pass: count / initial >= TARGET_FILES_PER_S, note: `${initial.toFixed(2)} s` },
      { metric: 'peak RSS (100k tree)', value: stats.peakRssBytes / MiB, unit: 'MiB', target: `<= ${TARGET_RSS_MIB}`, pass: stats.peakRssBytes / MiB <= TARGET_RSS_MIB, note: '' },
    ];
  } finally {
    await node.stop();
  }
}

function printTable(rows: Row[], scale: number): void {
  console.log(`\ndaemon scan, scale ${scale}, load average ${loadavg()[0]?.toFixed(1)} (2-core targets apply at scale 1)`);
  console.log('| metric | value | target | result | note |');
  console.log('| --- | ---: | --- | --- | --- |');
  for (const r of rows) {
    const v = r.unit === 's' ? r.value.toFixed(2) : r.value.toFixed(0);
    console.log(`| ${r.metric} | ${v} ${r.unit} | ${r.target} ${r.unit} | ${r.pass ? 'PASS' : 'MISS'} | ${r.note} |`);
  }
}

export async function run(args: string[]): Promise<void> {
  const scale = Number(argValue(args, '--scale') ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10) throw new Error('--scale must be in (0, 10]');
  const only = new Set((argValue(args, '--only') ?? 'big,small,rescan').split(','));
  if (process.env.SEALSYNC_BENCH_NO_BUILD !== '1') ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'sealsync-bench-daemon-scan-'));
  const rows: Row[] = [];
  try {
    if (only.has('big')) rows.push(...await benchBig(dir, scale));
    rmSync(join(dir, 'big'), { recursive: true, force: true });
    if (only.has('small')) rows.push(...await benchSmall(dir, scale));
    rmSync(join(dir, 'small'), { recursive: true, force: true });
    if (only.has('rescan')) rows.push(...await benchRescan(dir, scale));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows, scale);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run(process.argv.slice(2));
}

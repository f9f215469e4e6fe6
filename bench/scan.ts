/**
 * Scan benchmark (DESIGN performance budgets):
 *   hash: chunk + seal 1 GiB of new data through the HashPool
 *         (budget >= 300 MB/s, peak RSS <= 150 MiB; measured in a child
 *         process so its VmHWM is the pool's alone; files were just written,
 *         so they are read from the page cache)
 *   walk: lstat walk of an unchanged 100,000-file tree (budget <= 3 s)
 *   watch: FolderWatcher start on the same tree (time until events flow)
 *
 * `npx tsx bench/scan.ts [--gib N] [--files N] [--workers N]` or `npm run bench -- scan`.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkFolder } from '../src/fs/walk.js';
import { IgnoreRules } from '../src/fs/ignore-rules.js';
import { FolderWatcher } from '../src/fs/folder-watcher.js';

const MiB = 1024 * 1024;
const FILE_BYTES = 128 * MiB;
const FILES_PER_DIR = 200;
const WRITE_PIECE = 4 * MiB;

function argValue(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function peakRssBytes(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Writes `bytes` of random data in pieces, so generating it costs no RSS. */
function writeRandomFile(path: string, bytes: number): void {
  const piece = Buffer.allocUnsafe(WRITE_PIECE);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += WRITE_PIECE) {
      randomFillSync(piece);
      writeSync(fd, piece, 0, Math.min(WRITE_PIECE, bytes - done));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The production code path: compile the pool (and what it imports) to plain
 * JavaScript, then hash in a child `node` without tsx, so the child's VmHWM
 * is what a daemon's scan costs (tsx in every worker adds ~40 MiB each).
 */
function compilePool(outDir: string): string {
  const src = fileURLToPath(new URL('../src/', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const build = spawnSync(process.execPath, [
    tsc, '--outDir', outDir, '--rootDir', src, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node',
    join(src, 'fs', 'hash-pool.ts'), join(src, 'fs', 'hash-worker.ts'),
  ], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`tsc failed: ${build.stdout}${build.stderr}`);
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}');
  return join(outDir, 'fs', 'hash-pool.js');
}

const CHILD_SCRIPT = `
const [poolPath, dir, count, workers] = process.argv.slice(1);
const { HashPool } = await import(poolPath);
const { readFileSync } = await import('node:fs');
const pool = new HashPool(Number(workers) > 0 ? { workers: Number(workers) } : {});
pool.start();
const key = new Uint8Array(32).fill(7);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: Number(count) }, (_, i) => pool.hashFile(dir + '/f' + i, key)));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await pool.stop();
const hwm = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({
  seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, workers: pool.workerCount,
  bytes: results.reduce((a, r) => a + r.size, 0), blocks: results.reduce((a, r) => a + r.blocks.length, 0),
  peakRss: hwm ? Number(hwm[1]) * 1024 : 0,
}));
`;

async function benchHash(dir: string, gib: number, workers: number): Promise<void> {
  const count = Math.max(1, Math.round((gib * 1024 * MiB) / FILE_BYTES));
  const data = join(dir, 'data');
  mkdirSync(data);
  for (let i = 0; i < count; i++) writeRandomFile(join(data, `f${i}`), FILE_BYTES);
  const poolPath = compilePool(join(dir, 'dist'));
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT, poolPath, data, String(count), String(workers)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`hash child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
    seconds: number; cpuSeconds: number; bytes: number; blocks: number; workers: number; peakRss: number;
  };
  const mbps = r.bytes / 1e6 / r.seconds;
  const perCpu = r.bytes / 1e6 / r.cpuSeconds;
  console.log(`hash+seal: ${(r.bytes / 1024 / MiB).toFixed(2)} GiB in ${r.seconds.toFixed(2)} s = ${mbps.toFixed(0)} MB/s wall, ` +
    `${perCpu.toFixed(0)} MB per CPU-second (${r.workers} workers, ${r.blocks} blocks, avg ${(r.bytes / r.blocks / 1024).toFixed(0)} KiB), ` +
    `peak RSS ${(r.peakRss / MiB).toFixed(0)} MiB  [budget >= 300 MB/s, <= 150 MiB; load average now ${loadavg()[0]?.toFixed(1)}]`);
}

async function benchWalkAndWatch(dir: string, files: number): Promise<void> {
  const dirs = Math.ceil(files / FILES_PER_DIR);
  const tc = performance.now();
  for (let d = 0; d < dirs; d++) {
    const sub = join(dir, `g${d % 50}`, `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < FILES_PER_DIR && d * FILES_PER_DIR + f < files; f++) writeFileSync(join(sub, `file-${f}.txt`), 'x');
  }
  console.log(`created ${files} files in ${dirs} dirs in ${((performance.now() - tc) / 1000).toFixed(1)} s`);
  const ignore = IgnoreRules.fromText('*.log\nbuild/\n', '');
  for (const label of ['first walk', 'rescan']) {
    const t0 = performance.now();
    let n = 0;
    for await (const _e of walkFolder(dir, { ignore })) n++;
    console.log(`walk (${label}): ${n} entries in ${((performance.now() - t0) / 1000).toFixed(2)} s  [budget <= 3 s]`);
  }
  const t1 = performance.now();
  const w = new FolderWatcher(dir, { onChange: () => {} });
  await w.start();
  const started = performance.now() - t1;
  await w.stop();
  console.log(`watcher start: ${(started / 1000).toFixed(2)} s for ${files} files in ${dirs} dirs`);
}

export async function run(args: string[]): Promise<void> {
  const gib = argValue(args, '--gib', 1);
  const files = argValue(args, '--files', 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'sealsync-bench-scan-'));
  try {
    mkdirSync(join(dir, 'hash'));
    await benchHash(join(dir, 'hash'), gib, argValue(args, '--workers', 0));
    rmSync(join(dir, 'hash'), { recursive: true, force: true });
    mkdirSync(join(dir, 'tree'));
    await benchWalkAndWatch(join(dir, 'tree'), files);
    console.log(`bench process peak RSS ${(peakRssBytes() / MiB).toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run(process.argv.slice(2));
}

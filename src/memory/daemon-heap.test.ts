import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('./daemon-heap.ts', import.meta.url));
const HASH_POOL = fileURLToPath(new URL('../fs/hash-pool.ts', import.meta.url));

/** New-space size (MiB) of a fresh process that allocates short-lived objects fast, with or without the daemon's flags. */
function newSpaceAfterChurn(apply: boolean, env: Record<string, string> = {}, opts: { hashWorker?: boolean } = {}): number {
  // With hashWorker, a HashPool worker hashes a file first (starting it resets V8's growth factor).
  const worker = `
    const { HashPool } = await import(${JSON.stringify(HASH_POOL)});
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { randomBytes } = await import('node:crypto');
    const dir = mkdtempSync(join(tmpdir(), 'heap-flags-'));
    const pool = new HashPool({ workers: 1, idleMs: 60_000 });
    pool.start();
    writeFileSync(join(dir, 'f'), randomBytes(256 * 1024));
    await pool.hashFile(join(dir, 'f'), { contentKey: randomBytes(32), chunkKey: randomBytes(32) }); // ScanKeys (fs/hash-file-sync.ts)
  `;
  const code = `
    const { getHeapSpaceStatistics } = await import('node:v8');
    const { applyDaemonHeapFlags } = await import(${JSON.stringify(MODULE)});
    if (${apply}) applyDaemonHeapFlags(${JSON.stringify(env)});
    ${opts.hashWorker === true ? worker : ''}
    const keep = [];
    // A ring of 20,000 live objects (each lives for 20,000 allocations); shift() here took ~1 min.
    for (let i = 0; i < 2_000_000; i++) keep[i % 20_000] = { i, s: 'x' + i };
    const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size / 1048576));
    ${opts.hashWorker === true ? 'await pool.stop(); rmSync(dir, { recursive: true });' : ''}
  `;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return Number(res.stdout);
}

test('the daemon heap flags keep the young generation small when set from inside the process', () => {
  const withFlags = newSpaceAfterChurn(true);
  const without = newSpaceAfterChurn(false);
  assert.ok(withFlags <= 4, `new space with the flags: ${withFlags} MiB`);
  assert.ok(without > withFlags, `V8's default grows it (${without} MiB), the flags do not (${withFlags} MiB)`);
});

test('SEALSYNC_NO_HEAP_FLAGS=1 leaves V8 alone', () => {
  const off = newSpaceAfterChurn(true, { SEALSYNC_NO_HEAP_FLAGS: '1' });
  assert.ok(off > 4, `new space with the flags switched off: ${off} MiB`);
});

test('the flags still hold after a hash worker has started (a new isolate resets the growth factor)', () => {
  const withWorker = newSpaceAfterChurn(true, {}, { hashWorker: true });
  assert.ok(withWorker <= 4, `new space with the flags and a hash worker: ${withWorker} MiB`);
});

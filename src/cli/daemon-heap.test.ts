import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('./daemon-heap.ts', import.meta.url));

/** New-space size (MiB) of a fresh process that allocates short-lived objects fast, with or without the daemon's flags. */
function newSpaceAfterChurn(apply: boolean, env: Record<string, string> = {}): number {
  const code = `
    const { getHeapSpaceStatistics } = await import('node:v8');
    const { applyDaemonHeapFlags } = await import(${JSON.stringify(MODULE)});
    if (${apply}) applyDaemonHeapFlags(${JSON.stringify(env)});
    const keep = [];
    for (let i = 0; i < 2_000_000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20_000) keep.shift(); }
    const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size / 1048576));
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

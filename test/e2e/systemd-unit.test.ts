// contrib/sealsync.service: its MemoryMax is the bound the network limits
// document, systemd scores its sandbox under a threshold, and a daemon in a
// sandbox like the unit's refuses a folder outside the writable paths with
// one line that names the unit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serviceMemoryMaxBytes } from '../../src/net/limits.js';
import { SERVICE_UNIT_FILE, SYSTEMD_INVOCATION_ENV } from '../../src/daemon/folder-path.js';
import { REPO_ROOT, TestHome } from './helpers/harness.js';

const UNIT = join(REPO_ROOT, 'contrib', SERVICE_UNIT_FILE);
/**
 * The highest overall exposure `systemd-analyze security` may give the unit
 * (0 = fully locked down, 10 = unprotected; systemd calls < 2 "OK"). The unit
 * scores 1.5: what remains is what a network daemon needs (sockets, its
 * writable paths) and V8's JIT (no MemoryDenyWriteExecute).
 */
const MAX_EXPOSURE = 2.0;
const homes: TestHome[] = [];

after(async () => {
  for (const h of homes) await h.cleanup();
});

test("the unit's MemoryMax is the documented bound", async () => {
  const text = await readFile(UNIT, 'utf8');
  const m = /^MemoryMax=(\d+)M$/m.exec(text);
  assert.ok(m, 'the unit sets MemoryMax in MiB');
  assert.equal(Number(m[1]) * 1024 * 1024, serviceMemoryMaxBytes(), 'contrib/sealsync.service and serviceMemoryMaxBytes() agree');
});

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

test('systemd-analyze security scores the unit under the threshold', { skip: analyze.status !== 0 ? 'systemd-analyze is not installed' : false }, () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /Overall exposure level for sealsync\.service: (\d+(?:\.\d+)?)/.exec(out);
  assert.ok(m, `no score in: ${out.slice(-500)}`);
  assert.ok(Number(m[1]) <= MAX_EXPOSURE, `exposure ${m[1]} is over ${MAX_EXPOSURE}`);
});

/** Root can make a mount namespace with a read-only bind mount (what ProtectSystem=strict does outside ReadWritePaths). */
function canSandbox(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-m', 'true']).status === 0;
}

test('folder add of a path outside the writable paths fails with one line naming the sandbox', { skip: canSandbox() ? false : 'needs root and unshare' }, async () => {
  const h = await TestHome.create();
  homes.push(h);
  const outside = join(h.root, 'outside');
  const inside = join(h.root, 'inside');
  await mkdir(outside);
  await mkdir(inside);
  // The daemon runs in its own mount namespace where `outside` is read-only, as under the unit.
  const wrapper = ['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', outside];
  const daemon = await h.startDaemon({ wrapper, env: { [SYSTEMD_INVOCATION_ENV]: '0123456789abcdef0123456789abcdef' } });
  const key = await h.newKey();
  const r = await h.cli(['folder', 'add', outside, '--key', key]);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0] as string, new RegExp(`${outside} is outside the service's writable paths \\(ReadWritePaths in sealsync\\.service\\)`));
  // A path inside the writable paths is added as usual.
  await h.cliOk(['folder', 'add', inside, '--key', await h.newKey()]);
  assert.equal((await h.status()).folders.length, 1);
  await daemon.kill9();
  // Without systemd, the same mount is just a read-only file system.
  const plain = await h.startDaemon({ wrapper });
  const r2 = await h.cli(['folder', 'add', outside, '--key', key]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr.trim(), new RegExp(`^[^\\n]*${outside} is on a read-only file system$`));
  await plain.kill9();
});

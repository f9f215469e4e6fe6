/**
 * `sealsync folder rescan PATH [--wait]` on a real daemon: with the watcher off
 * and the periodic rescan an hour away, a change is invisible until the
 * rescan, and `--wait` returns only once it is indexed. Encrypted folders and
 * unknown paths are refused with one line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestHome } from './helpers/harness.js';

/** Long enough that the watcher, were it on, would have reported the change (debounce 250 ms). */
const QUIET_MS = 800;

let h: TestHome;
let dir: string;
before(async () => {
  h = await TestHome.create();
  dir = join(h.root, 'plain');
  await mkdir(dir);
  await writeFile(join(dir, 'a.txt'), 'first');
  await h.startDaemon();
  await h.cliOk(['folder', 'add', dir, '--key', await h.newKey(), '--no-watch', '--rescan-interval', '3600', '--wait']);
});
after(() => h.cleanup());

test('a change made with the watcher off shows right after folder rescan --wait', async () => {
  const start = await h.waitForFolder(dir, (f) => f.state === 'unshared');
  assert.equal(start.localFiles, 1);
  assert.equal(start.localBytes, 5);
  await writeFile(join(dir, 'b.txt'), 'second!');
  await appendFile(join(dir, 'a.txt'), '+more');
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const unseen = (await h.status()).folders.find((f) => f.path === dir);
  assert.equal(unseen?.localFiles, 1, 'no watcher: the change is not indexed yet');

  const out = await h.cliOk(['folder', 'rescan', dir, '--wait']);
  assert.match(out, /^Rescanned .*: 2 files \(17 bytes\)$/m);
  // No polling: the command returned after the scan, so status has it already.
  const f = (await h.status()).folders.find((x) => x.path === dir);
  assert.equal(f?.localFiles, 2);
  assert.equal(f?.localBytes, 17);
  assert.equal(f?.error, null);
});

test('without --wait the rescan starts and the command returns at once', async () => {
  await writeFile(join(dir, 'c.txt'), 'third');
  const out = await h.cliOk(['folder', 'rescan', dir]);
  assert.match(out, /^Rescan of .* started$/m);
  await h.waitForFolder(dir, (f) => f.state === 'unshared' && f.localFiles === 3, { timeoutMs: 5000, description: 'c.txt indexed' });
});

test('encrypted folders and unknown paths are refused with one line', async () => {
  const enc = join(h.root, 'store');
  await mkdir(enc);
  const eKey = (await h.cliOk(['folder', 'share', dir, '--type', 'encrypted'])).trim();
  const other = await TestHome.create({ root: h.root, name: 'o' });
  await other.startDaemon();
  try {
    await other.cliOk(['folder', 'add', enc, '--key', eKey]);
    const r = await other.cli(['folder', 'rescan', enc, '--wait']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ERR_FOLDER_TYPE|rescan applies to rw and ro folders/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    await other.cleanup();
  }
  const r = await h.cli(['folder', 'rescan', join(h.root, 'nowhere')]);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /not a shared folder/);
});

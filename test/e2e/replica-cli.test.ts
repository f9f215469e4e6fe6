/**
 * The encrypted folder through the real CLI and daemon, on one device:
 * `folder add PATH --key E…` runs the replica engine (status shows only counts
 * and sizes), `folder verify` and `folder gc` work on it and refuse full folders.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TestHome } from './helpers/harness.js';

describe('encrypted folder on one daemon', () => {
  let h: TestHome;
  let store: string;
  let full: string;
  let eKey: string;
  before(async () => {
    h = await TestHome.create();
    store = join(h.root, 'store');
    full = join(h.root, 'full');
    await mkdir(store);
    await mkdir(full);
    await h.startDaemon();
  });
  after(() => h.cleanup());

  test('folder add with an E key runs the replica store', async () => {
    const w = (await h.cliOk(['key', 'new'])).trim();
    const e = (await h.cliOk(['key', 'derive', '--encrypted', w])).trim();
    assert.match(e, /^E/);
    eKey = e;
    const out = await h.cliOk(['folder', 'add', store, '--key', e]);
    assert.match(out, /Added encrypted folder/);
    const f = await h.waitForFolder(store, (x) => x.state === 'unshared');
    assert.equal(f.type, 'encrypted');
    assert.equal(f.error, null);
    assert.deepEqual([f.globalFiles, f.globalBytes, f.needFiles], [0, 0, 0]);
    // The pack store: packs, its database (WAL files while the daemon has it open), quarantine,
    // and the lock naming the one process that has it open.
    assert.deepEqual((await readdir(store)).sort(), ['blocks.db', 'blocks.db-shm', 'blocks.db-wal', 'packs', 'quarantine', 'store.lock']);
    assert.equal((await stat(join(store, 'store.lock'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(store, 'packs'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(store, 'blocks.db'))).mode & 0o777, 0o600);
    // A full folder (another folder: one device holds a folder once) for the refusals below.
    await h.cliOk(['folder', 'add', full, '--key', (await h.cliOk(['key', 'new'])).trim()]);
  });

  test('folder verify and folder gc on the encrypted folder; both refuse a full folder', async () => {
    const v = await h.cli(['folder', 'verify', store]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Checked 0 blocks \(0 bytes\): 0 corrupt, 0 missing/);
    const g = await h.cli(['folder', 'gc', store, '--retention-days', '0', '--json']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal((JSON.parse(g.stdout) as { deleted: number }).deleted, 0);
    for (const cmd of [['folder', 'gc', full], ['folder', 'verify', full]]) {
      const r = await h.cli(cmd);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /encrypted key/);
    }
    const bad = await h.cli(['folder', 'gc', store, '--retention-days', 'x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--retention-days/);
  });

  test('a second home on the same machine cannot open the same store: folder add fails with one line and keeps nothing; the first keeps it', async () => {
    const other = await TestHome.create({ root: h.root, name: 'other' });
    try {
      await other.startDaemon();
      const configBefore = await readFile(other.paths.config, 'utf8');
      const add = await other.cli(['folder', 'add', store, '--key', eKey]);
      assert.notEqual(add.code, 0);
      assert.match(add.stderr, /^sealsync: the block store at .* is in use by another sealsync process \(pid \d+\)\n$/);
      assert.equal(await readFile(other.paths.config, 'utf8'), configBefore, 'the config is unchanged');
      assert.deepEqual((await other.status()).folders, []);
      const mine = (await h.status()).folders.find((x) => x.path === store);
      assert.equal(mine?.error, null);
      const v = await h.cli(['folder', 'verify', store]);
      assert.equal(v.code, 0, v.stderr);
    } finally {
      await other.cleanup();
    }
  });
});

/**
 * `folder versions|restore|conflicts|keep|retention|pause|resume|ignore` and
 * `events` on one real daemon: every bad input is one line and changes
 * nothing; retention by size is enforced on the archive; the event log
 * survives a restart; a restore is recorded as this device's change.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileVersionsInfo, FolderInfo } from '../../src/api/daemon-api.js';
import { TestHome, pollUntil, type DaemonProcess } from './helpers/harness.js';

describe('folder history commands', () => {
  let h: TestHome;
  let daemon: DaemonProcess;
  let docs: string;

  before(async () => {
    h = await TestHome.create({ init: ['--name', 'solo', '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'] });
    docs = join(h.root, 'docs');
    await mkdir(join(docs, '.sealsync/archive/sub'), { recursive: true });
    // Archived copies as the puller leaves them (names carry the time, UTC).
    await writeFile(join(docs, '.sealsync/archive/sub/a~20260101-000000.txt'), 'x'.repeat(3000));
    await writeFile(join(docs, '.sealsync/archive/sub/a~20260102-000000.txt'), 'y'.repeat(3000));
    await writeFile(join(docs, '.sealsync/archive/sub/a~20260103-000000.txt'), 'version three');
    await writeFile(join(docs, '.sealsync/archive/not-a-version.txt'), 'left alone');
    daemon = await h.startDaemon();
    await h.cliOk(['folder', 'add', docs, '--key', (await h.newKey()).trim(), '--wait']);
  });

  after(async () => { await h?.cleanup(); });

  test('bad input: one line, exit non-zero, nothing changed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['folder', 'restore', docs, 'sub/a.txt', '--version', 'yesterday'], /version: must be a version id/],
      [['folder', 'restore', docs, 'sub/a.txt', '--version', '20990101-000000'], /no archived version 20990101-000000 of sub\/a\.txt/],
      [['folder', 'restore', docs, 'nothing/here'], /nothing of nothing\/here is in the archive/],
      [['folder', 'restore', docs, '/etc/passwd'], /is not inside/],
      [['folder', 'restore', docs, '../x'], /is not inside/],
      [['folder', 'keep', docs, 'a.sync-conflict-20260101-000000-ABCDEFG.txt'], /exactly one of --copy and --original/],
      [['folder', 'keep', docs, 'a.sync-conflict-20260101-000000-ABCDEFG.txt', '--copy'], /no such conflict copy/],
      [['folder', 'retention', docs, '--days', 'ten'], /--days must be a whole number/],
      [['folder', 'retention', docs, '--days', '5', '--max-mib', '-1'], /--max-mib must be a whole number/],
      [['folder', 'retention', docs, '--days', '99999'], /retentionDays: Number must be less than or equal to 3650/],
      [['folder', 'versions', join(h.root, 'elsewhere')], /is not a shared folder/],
      [['events', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    ];
    for (const [args, message] of cases) {
      const r = await h.cli(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const files = JSON.parse(await h.cliOk(['folder', 'versions', docs, '--json'])) as FileVersionsInfo[];
    assert.deepEqual(files.map((f) => [f.path, f.deleted, f.versions.map((v) => v.version)]),
      [['sub/a.txt', true, ['20260103-000000', '20260102-000000', '20260101-000000']]]);
  });

  test('a restore puts the content back and archives nothing when the path was empty', async () => {
    assert.equal((await h.cliOk(['folder', 'restore', docs, 'sub/a.txt', '--version', '20260103-000000'])).trim(), 'Restored sub/a.txt');
    assert.equal(await readFile(join(docs, 'sub/a.txt'), 'utf8'), 'version three');
    await h.waitForFolder(docs, (f) => f.localFiles >= 1, { description: 'the restored file indexed' });
    // Restoring another version over it archives the current content first, noted as this device's change.
    await h.cliOk(['folder', 'restore', docs, 'sub/a.txt', '--version', '20260101-000000']);
    assert.equal(await readFile(join(docs, 'sub/a.txt'), 'utf8'), 'x'.repeat(3000));
    const files = JSON.parse(await h.cliOk(['folder', 'versions', docs, 'sub', '--json'])) as FileVersionsInfo[];
    const newest = files[0]?.versions[0];
    assert.equal(newest?.size, 'version three'.length);
    assert.equal(newest?.replacedBy?.name, 'solo');
    assert.equal(newest?.replacedBy?.thisDevice, true);
  });

  test('retention by size removes the oldest copies at once', async () => {
    const out = await h.cliOk(['folder', 'retention', docs, '--days', '3650', '--max-mib', '0']);
    assert.match(out, /3650 days, at most a tenth of its disk/);
    const info = JSON.parse(await h.cliOk(['folder', 'list', '--json'])) as FolderInfo[];
    assert.deepEqual(info[0]?.retention, { retentionDays: 3650, maxMiB: 0 });
    // 1 MiB bound: the archive (~6 KiB) fits; prove the bound by filling it past 1 MiB.
    await writeFile(join(docs, '.sealsync/archive/sub/big~20250101-000000.bin'), Buffer.alloc(1024 * 1024 + 10));
    await h.cliOk(['folder', 'retention', docs, '--days', '3650', '--max-mib', '1']);
    await pollUntil(async () => {
      const names = await readdir(join(docs, '.sealsync/archive/sub'));
      return names.includes('big~20250101-000000.bin') ? undefined : names;
    }, { timeoutMs: 10_000, description: 'the oldest (and largest) copy removed' });
    assert.equal(await readFile(join(docs, '.sealsync/archive/not-a-version.txt'), 'utf8'), 'left alone');
  });

  test('pause and resume; the event log survives a restart', async () => {
    assert.match(await h.cliOk(['folder', 'pause', docs]), /^Paused /);
    assert.equal((await h.status()).folders[0]?.paused, true);
    assert.match(await h.cliOk(['folder', 'resume', docs]), /^Resumed /);
    const before = (await h.cliOk(['events'])).trim().split('\n');
    assert.ok(before.some((l) => /folder-changed .* paused$/.test(l)), before.join('\n'));
    await daemon.stop();
    daemon = await h.startDaemon();
    const afterRestart = (await h.cliOk(['events', '--json'])).trim().split('\n').map((l) => JSON.parse(l) as { type: string; change?: string; seq: number });
    assert.ok(afterRestart.some((e) => e.type === 'folder-changed' && e.change === 'resumed'), 'logged before the restart');
    assert.equal((await h.status()).folders[0]?.paused, undefined);
  });
});

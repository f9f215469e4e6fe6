import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeSealedRecord, encodeSealedRecord, openRecord, sealRecord } from '../../crypto/index.js';
import { formatDeviceId } from '../../crypto/device-id.js';
import { keysFromSecret, newFolderSecret } from '../../crypto/keys.js';
import { archiveFile } from '../../fs/archive.js';
import { pruneArchive } from '../../fs/archive-prune.js';
import { listArchive, parseArchivedName, putBackArchived } from '../../fs/archive-versions.js';
import { openIndex } from '../../index/index.js';
import { MAX_LOGGED_EVENTS } from '../../index/history-store.js';
import type { FileRecord } from '../../model/types.js';
import { conflictOriginal } from './folder-history.js';

test('archive names parse back to the path and version; anything else is not a version', () => {
  assert.deepEqual(parseArchivedName('report~20261126-212424.pdf'), { name: 'report.pdf', version: '20261126-212424', at: Date.UTC(2026, 10, 26, 21, 24, 24) });
  assert.deepEqual(parseArchivedName('README~20261126-212424-3')?.version, '20261126-212424-3');
  assert.equal(parseArchivedName('README~20261126-212424-3')?.name, 'README');
  for (const bad of ['report.pdf', '~20261126-212424.pdf', 'x~2026112-212424', 'x~20261399-999999']) assert.equal(parseArchivedName(bad), null, bad);
});

test('a conflict copy names the path it was cut from, any extension or none', () => {
  assert.equal(conflictOriginal('a/plan.sync-conflict-20261207-013000-ABCDEFG.txt'), 'a/plan.txt');
  assert.equal(conflictOriginal('README.sync-conflict-20261207-013000-ABCDEFG'), 'README');
  assert.equal(conflictOriginal('x.tar.sync-conflict-20261207-013000-ABC1234.gz'), 'x.tar.gz');
  for (const p of ['plan.txt', '.sync-conflict-20261207-013000-ABCDEFG.txt', 'a.sync-conflict-2026-013000-X.txt']) assert.equal(conflictOriginal(p), null, p);
});

test('the writer device id travels inside the sealed body and opens to the same text', () => {
  const keys = keysFromSecret(newFolderSecret());
  const writer = formatDeviceId(randomBytes(32));
  const record: FileRecord = { path: 'a.txt', kind: 'file', size: 0, mtimeMs: 5, mode: 0o644, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false, writer };
  const opened = openRecord(keys, decodeSealedRecord(encodeSealedRecord(sealRecord(keys, record))));
  assert.equal(opened.writer, writer);
  const without = openRecord(keys, sealRecord(keys, { ...record, writer: undefined as unknown as string }));
  assert.equal(without.writer, undefined);
  assert.throws(() => sealRecord(keys, { ...record, writer: 'not a device id' }), /device id/);
});

test('archived copies are listed, put back whole, and the size bound drops the oldest first', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-archive-'));
  try {
    await mkdir(join(root, 'd'));
    await writeFile(join(root, 'd/f.txt'), 'first');
    await archiveFile(root, 'd/f.txt', new Date(Date.UTC(2026, 0, 1)), { keepOriginal: false });
    await writeFile(join(root, 'd/f.txt'), 'second!');
    await archiveFile(root, 'd/f.txt', new Date(Date.UTC(2026, 0, 2)), { keepOriginal: true });
    const copies = await listArchive(root);
    assert.deepEqual(copies.map((c) => [c.path, c.version, c.size]), [['d/f.txt', '20260102-000000', 7], ['d/f.txt', '20260101-000000', 5]]);
    await rm(join(root, 'd'), { recursive: true });
    await putBackArchived(root, copies[1]!);
    assert.equal(await readFile(join(root, 'd/f.txt'), 'utf8'), 'first');
    assert.deepEqual((await pruneArchive(root, { maxBytes: 7 })).removed.map((c) => c.archivePath), [copies[1]!.archivePath]);
    assert.equal((await listArchive(root)).length, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the event log keeps its numbering across a reopen and stays bounded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-log-'));
  try {
    let index = openIndex(join(dir, 'index.db'));
    const total = MAX_LOGGED_EVENTS + 300;
    for (let seq = 1; seq <= total; seq++) index.history.appendEvent(seq, seq, JSON.stringify({ type: 'x', seq }));
    index.close();
    index = openIndex(join(dir, 'index.db'));
    assert.equal(index.history.lastEventSeq(), total);
    const newest = index.history.events(null, 5);
    assert.deepEqual(newest.map((e) => e.seq), [total - 4, total - 3, total - 2, total - 1, total]);
    const oldest = index.history.events(0, 1)[0]!;
    assert.ok(total - oldest.seq < MAX_LOGGED_EVENTS + 100, `bounded: oldest kept is ${oldest.seq}`);
    index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

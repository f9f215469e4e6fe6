// SyncFolder integrated with the real network session: two full peers over
// TLS on 127.0.0.1, bound with the shared session binding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keysFromSecret, newFolderSecret } from '../../crypto/index.js';
import { silentLogger } from '../../logger.js';
import { PeerSession } from '../../net/session.js';
import { dial, SyncListener } from '../../net/transport.js';
import { MemoryDirectory, testIdentity } from '../../net/testing/fixtures.js';
import { FolderSessionLink } from '../peer/folder-session-link.js';
import type { LinkedFolder } from '../peer/folder-link.js';
import { LocalFolder } from '../local/local-folder.js';
import { SyncFolder } from './sync-folder.js';
import { makeDevice, snapshotTree, testLocalFolderFs, type TestDevice } from '../testing/sync-device.js';

test('two full peers sync over real TLS sessions, both ways, and resume after a reconnect', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const nodes: { dev: TestDevice; local: LocalFolder; sync: SyncFolder }[] = [];
  for (const name of ['A', 'B']) {
    const dev = await makeDevice(name, keys);
    const { fs, pool } = testLocalFolderFs();
    const local = new LocalFolder({ index: dev.index, pool, logger: silentLogger(), fs }, { path: dev.root, keys, folderRowId: dev.folder, rescanIntervalMs: 60_000, watch: false });
    const sync = new SyncFolder({ path: dev.root, keys, index: dev.index, folderRowId: dev.folder, localFolder: local, logger: silentLogger() });
    nodes.push({ dev, local, sync });
  }
  const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
  const linked: LinkedFolder = a.sync; // the binding's contract
  void linked;
  const directory = new MemoryDirectory([{ folderId: keys.folderId, accessSecret: keys.accessSecret! }]);
  const sessions: PeerSession[] = [];
  const bindings: FolderSessionLink[] = [];
  const bind = (n: typeof a, s: PeerSession) => {
    sessions.push(s);
    s.onBlockRequest((_fid, bid) => n.sync.serveBlock(bid));
    bindings.push(new FolderSessionLink({ folder: n.sync, session: s, folderId: keys.folderId, index: n.dev.index, logger: silentLogger() }));
    s.start();
  };
  const listener = new SyncListener({
    listen: '127.0.0.1:0',
    identity: await testIdentity('sync-b'),
    onConnection: (conn) => void PeerSession.open(conn, { localName: 'B', directory }).then((s) => bind(b, s)),
  });
  await listener.start();
  const connect = async () => {
    const conn = await dial(`tcp://127.0.0.1:${listener.port()}`, { identity: await testIdentity('sync-a') });
    bind(a, await PeerSession.open(conn, { localName: 'A', directory }));
  };
  const disconnect = async () => {
    for (const x of bindings.splice(0)) x.close();
    for (const x of sessions.splice(0)) await x.close();
  };
  const converged = async (what: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const [x, y] = await Promise.all([stableSnapshot(a.dev.root), stableSnapshot(b.dev.root)]);
      if (JSON.stringify(x) === JSON.stringify(y)) return;
      if (Date.now() > deadline) assert.deepEqual(y, x, `timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await mkdir(join(a.dev.root, 'photos/2026'), { recursive: true });
    await writeFile(join(a.dev.root, 'photos/2026/big.jpg'), randomBytes(1_500_000));
    for (let i = 0; i < 30; i++) await writeFile(join(a.dev.root, `small-${i}.txt`), `file ${i}`);
    for (const n of nodes) {
      await n.local.start();
      await n.local.scanNow();
      await n.sync.start();
    }
    await connect();
    await converged('B has A\'s tree');
    assert.equal((await readFile(join(b.dev.root, 'photos/2026/big.jpg'))).length, 1_500_000);
    // B edits; A gets it over the same session
    await writeFile(join(b.dev.root, 'small-3.txt'), 'edited on B');
    await b.local.scanNow();
    await converged('A has B\'s edit');
    assert.equal(await readFile(join(a.dev.root, 'small-3.txt'), 'utf8'), 'edited on B');
    // disconnect, change on A, reconnect: the delta travels
    await disconnect();
    await writeFile(join(a.dev.root, 'offline.txt'), 'written while apart');
    await a.local.scanNow();
    await connect();
    await converged('B has the change made while apart');
    assert.equal(await readFile(join(b.dev.root, 'offline.txt'), 'utf8'), 'written while apart');
  } finally {
    await disconnect();
    await listener.stop();
    for (const n of nodes) {
      await n.sync.stop();
      await n.local.stop();
      await n.dev.close();
    }
  }
});

/** A snapshot taken while files may be renamed underneath: retried on a vanishing entry. */
async function stableSnapshot(root: string): Promise<Record<string, string>> {
  for (let i = 0; ; i++) {
    try {
      return await snapshotTree(root);
    } catch (err) {
      if (i >= 20 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveEncrypted, keysFromSecret, newFolderSecret } from '../../crypto/keys.js';
import { sealBlock } from '../../crypto/sealed-block.js';
import { encodeSealedRecord, sealRecord } from '../../crypto/sealed-record.js';
import { openIndex, type Index } from '../../index/index.js';
import { silentLogger } from '../../logger.js';
import { ConnectionManager } from '../../net/connection-manager.js';
import { MemoryDirectory, testIdentity, waitUntil } from '../../net/testing/fixtures.js';
import { FolderSessionRouter } from './folder-session-router.js';
import { ReplicaFolder } from '../replica/replica-folder.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FAST = { backoffMinMs: 30, backoffMaxMs: 200, dialTimeoutMs: 2000 };

test('the router binds folder engines to ConnectionManager sessions, also a folder added after connecting, and unbinds on removal', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sealsync-router-'));
  const rw = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(rw);
  const indexes: Index[] = [openIndex(':memory:'), openIndex(':memory:')];
  const [ix, is] = indexes as [Index, Index];
  const x = new ReplicaFolder({ path: join(dir, 'x'), keys: enc, index: ix, logger: silentLogger() });
  const s = new ReplicaFolder({ path: join(dir, 's'), keys: enc, index: is, logger: silentLogger() });
  await x.start();
  await s.start();
  // Seed X with records and blocks, as if a full peer had uploaded them.
  const blocks = new Map<string, Uint8Array>();
  const records: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    const b = sealBlock(rw.contentKey as Uint8Array, new Uint8Array(randomBytes(2000)));
    blocks.set(hex(b.id), b.sealed);
    records.push(encodeSealedRecord(sealRecord(rw, {
      path: `f${i}`, kind: 'file', size: 2000, mtimeMs: 1, mode: 0o644,
      blocks: [{ id: b.id, hash: b.hash, size: 2000 }], version: [{ id: '0123456789abcdef', value: i + 1 }], deleted: false,
    })));
  }
  x.attachPeer({ peerId: 'seed', sendIndex: async () => undefined, requestBlock: async (id) => blocks.get(hex(id)) ?? null, penalize: () => undefined });
  await x.receiveIndex('seed', { indexId: '5eed5eed5eed5eed', fromSeq: 0, toSeq: 10, records });
  await waitUntil(() => x.wantedBlocks().length === 0, 5000, 'X has the blocks');
  x.detachPeer('seed');

  const folderEntry = { folderId: enc.folderId, accessSecret: enc.accessSecret };
  const dirX = new MemoryDirectory([folderEntry]);
  const dirS = new MemoryDirectory([]); // S adds the folder later
  const routerX = new FolderSessionRouter({ index: ix, logger: silentLogger(), initialAckWaitMs: 200 });
  const routerS = new FolderSessionRouter({ index: is, logger: silentLogger(), initialAckWaitMs: 200 });
  const cmS = new ConnectionManager({ identity: await testIdentity('router-s'), localName: 's', directory: dirS, listen: '127.0.0.1:0', ...FAST });
  cmS.on('session', (sess) => routerS.addSession(sess));
  await cmS.start();
  const cmX = new ConnectionManager({
    identity: await testIdentity('router-x'), localName: 'x', directory: dirX, listen: null, addresses: cmS.listenAddresses(), ...FAST,
  });
  cmX.on('session', (sess) => routerX.addSession(sess));
  routerX.addFolder(enc.folderId, x);
  try {
    await cmX.start();
    await waitUntil(() => cmS.sessions().length === 1, 5000, 'connected');
    assert.equal(routerS.linkCount, 0);
    // S shares the folder now: directory first, then the engine.
    dirS.folders.push(folderEntry);
    routerS.addFolder(enc.folderId, s);
    await waitUntil(() => { s.refreshStats(); return s.status().localFiles === 10; }, 10_000, 'S has all 10 files');
    for (const [id, data] of blocks) assert.deepEqual(await s.serveBlock(Buffer.from(id, 'hex')), data);
    assert.equal(routerS.linkCount, 1);
    // A folder the other side removes is unbound.
    dirS.folders.length = 0;
    routerS.removeFolder(enc.folderId);
    assert.equal(routerS.linkCount, 0);
  } finally {
    await cmX.stop();
    await cmS.stop();
    routerX.close();
    routerS.close();
    await x.stop();
    await s.stop();
    for (const i of indexes) i.close();
    await rm(dir, { recursive: true, force: true });
  }
});

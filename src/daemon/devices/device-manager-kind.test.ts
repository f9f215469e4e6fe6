/**
 * What a joiner says it joins as (`as` in the join message), with real device
 * managers over real TLS link channels on loopback: a server that uses a
 * device invite is refused with wrong-kind and the invite stays usable; a
 * device that uses a server invite gets only encrypted keys; and a hostile
 * inviter that answers a server with a keyring gets nothing taken.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../crypto/bytes.js';
import { parseDeviceId } from '../../crypto/device-id.js';
import { formatInviteCode, inviteIdOf, inviteProof, newInviteSecret } from '../../crypto/invite.js';
import { keysFromSecret, newFolderSecret, type FolderKeys } from '../../crypto/keys.js';
import { formatKey } from '../../crypto/key-text.js';
import { isSealsyncError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { LinkChannel } from '../../net/link-channel.js';
import { parsePeerAddress } from '../../net/peer-address.js';
import { testIdentity } from '../../net/testing/fixtures.js';
import { SyncListener, type SecureConnection } from '../../net/transport.js';
import type { DeviceCredentials } from '../../net/transport.js';
import { DeviceManager, type DeviceHost } from './device-manager.js';
import { emptyKeyring } from './keyring.js';
import { parseLinkMessage, joinMessage } from './link-messages.js';

interface Side {
  readonly manager: DeviceManager;
  readonly identity: DeviceCredentials;
  readonly added: { path: string; key: string }[];
  readonly dir: string;
}

async function side(t: TestContext, name: string, folders: { path: string; keys: FolderKeys }[] = []): Promise<Side & { address: string }> {
  const identity = await testIdentity(name);
  const dir = await mkdtemp(join(tmpdir(), `ss-kind-${name}-`));
  const added: { path: string; key: string }[] = [];
  let address = '';
  const host: DeviceHost = {
    identity, keyringPath: join(dir, 'keyring.json'), log: silentLogger(), now: Date.now,
    deviceName: () => name, listenAddresses: () => (address ? [address] : []), folders: () => folders,
    addFolder: async (path, key) => { added.push({ path, key }); },
    addPinnedPeers: async () => undefined, targetsChanged: () => undefined, connectedDevices: () => new Set(),
  };
  const manager = new DeviceManager(host);
  await manager.start();
  const listener = new SyncListener({ listen: '127.0.0.1:0', identity, onConnection: (c) => c.socket.destroy(), onLinkConnection: (c) => manager.handleConnection(c) });
  await listener.start();
  address = `tcp://127.0.0.1:${listener.port()}`;
  t.after(async () => { await manager.stop(); await listener.stop(); await rm(dir, { recursive: true, force: true }); });
  return { manager, identity, added, dir, address };
}

const reasonOf = (e: unknown): unknown => (isSealsyncError(e) ? e.data?.['reason'] : undefined);

test('a server that uses a device invite is refused (wrong-kind) before the invite is used; a device can still use it', async (t) => {
  const docs = { path: '/home/u/docs', keys: keysFromSecret(newFolderSecret()) };
  const owner = await side(t, 'owner', [docs]);
  const server = await side(t, 'server');
  const laptop = await side(t, 'laptop');
  const created = await owner.manager.invite({ autoApprove: true });
  await assert.rejects(server.manager.join(created.code, server.dir, { as: 'server' }), (e: unknown) => {
    assert.equal(reasonOf(e), 'wrong-kind');
    assert.match((e as Error).message, /sealsync device invite --server PATH/);
    return true;
  });
  assert.deepEqual(server.added, [], 'the server took nothing');
  await assert.rejects(stat(join(server.dir, 'keyring.json')), 'and holds no keyring');
  assert.equal(owner.manager.listInvites().find((i) => i.id === created.invite.id)?.state, 'pending', 'the invite was not used');
  assert.equal(owner.manager.report().pending.length, 0, 'nobody was asked to approve');
  const joined = await laptop.manager.join(created.code, laptop.dir, { as: 'device' });
  assert.equal(joined.kind, 'device');
  assert.equal(owner.manager.listInvites().find((i) => i.id === created.invite.id)?.state, 'used');
});

test('a device that uses a server invite gets only the encrypted keys, as a server would', async (t) => {
  const docs = { path: '/home/u/docs', keys: keysFromSecret(newFolderSecret()) };
  const owner = await side(t, 'owner', [docs]);
  const laptop = await side(t, 'laptop');
  const created = await owner.manager.invite({ server: [docs.path], autoApprove: true });
  const joined = await laptop.manager.join(created.code, laptop.dir, { as: 'device' });
  assert.equal(joined.kind, 'server');
  assert.equal(laptop.added.length, 1);
  assert.match(laptop.added[0]?.key ?? '', /^E/);
  assert.ok(!laptop.added.some((f) => f.key === formatKey(docs.keys)));
  await assert.rejects(stat(join(laptop.dir, 'keyring.json')), 'no keyring for a server invite');
});

test('a server answered with a keyring by a hostile inviter takes nothing', async (t) => {
  const server = await side(t, 'server');
  const evil = await testIdentity('evil');
  const secret = newInviteSecret();
  const folder = formatKey(keysFromSecret(newFolderSecret()));
  const seen: unknown[] = [];
  const listener = new SyncListener({
    listen: '127.0.0.1:0', identity: evil, onConnection: (c) => c.socket.destroy(),
    onLinkConnection: (c: SecureConnection) => {
      const ch = new LinkChannel(c);
      void (async () => {
        const msg = parseLinkMessage(joinMessage, await ch.next());
        seen.push(msg);
        const exporter = ch.exporter();
        const ids = [parseDeviceId(evil.deviceId), parseDeviceId(ch.remoteDeviceId)] as const;
        ch.send({ t: 'accepted', proof: toHex(inviteProof(secret, exporter, ids[0], ids[1], 'inviter')), approval: 'auto' });
        const keyring = { ...emptyKeyring({ id: evil.deviceId, name: 'evil', addresses: [] }), folders: [{ name: 'all', key: folder }] };
        ch.send({ t: 'approved', kind: 'device', keyring, inviter: { id: evil.deviceId, name: 'evil', addresses: [] } });
        await ch.next({ timeoutMs: 2000 }).catch(() => undefined);
      })().catch(() => undefined).finally(() => ch.close());
    },
  });
  await listener.start();
  t.after(() => listener.stop());
  const code = formatInviteCode({ deviceId: parseDeviceId(evil.deviceId), secret, addresses: [parsePeerAddress(`tcp://127.0.0.1:${listener.port()}`)] });
  await assert.rejects(server.manager.join(code, server.dir, { as: 'server' }), (e: unknown) => isSealsyncError(e, 'ERR_PROTOCOL') && /keyring/.test((e as Error).message));
  assert.equal((seen[0] as { as: string; invite: string }).as, 'server', 'the server said what it joins as');
  assert.equal((seen[0] as { invite: string }).invite, inviteIdOf(secret));
  assert.deepEqual(server.added, [], 'no folder taken');
  assert.deepEqual(await readdir(server.dir), [], 'no keyring written');
  assert.equal(server.manager.report().linked, false);
});

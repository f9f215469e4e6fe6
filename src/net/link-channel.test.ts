import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import { LinkChannel, MAX_LINK_MESSAGE_BYTES, dialLink } from './link-channel.js';
import { SyncListener, dial, type SecureConnection } from './transport.js';
import { testIdentity } from './testing/fixtures.js';

async function listener(t: TestContext, onLink?: (c: SecureConnection) => void): Promise<{ address: string; id: string; synced: SecureConnection[] }> {
  const identity = await testIdentity('link-server');
  const synced: SecureConnection[] = [];
  const l = new SyncListener({ listen: '127.0.0.1:0', identity, onConnection: (c) => { synced.push(c); c.socket.destroy(); }, ...(onLink ? { onLinkConnection: onLink } : {}) });
  await l.start();
  t.after(() => l.stop());
  return { address: `tcp://127.0.0.1:${l.port()}`, id: identity.deviceId, synced };
}

test('messages round-trip over the link ALPN, pinned to the device id; the same port still serves sync sessions', async (t) => {
  let server: LinkChannel | null = null;
  const { address, id, synced } = await listener(t, (c) => {
    server = new LinkChannel(c);
    void server.next().then((m) => server?.send({ echo: m }));
  });
  const client = await dialLink(address, { identity: await testIdentity('link-client'), deviceId: id });
  client.send({ t: 'hello', n: 1 });
  assert.deepEqual(await client.next(), { echo: { t: 'hello', n: 1 } });
  assert.equal(client.exporter().byteLength, 32);
  client.close();
  const conn = await dial(address, { identity: await testIdentity('link-client') });
  for (let i = 0; i < 100 && synced.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  conn.socket.destroy();
  assert.equal(synced.length, 1, 'a sync dial still reaches the sync handler');
  await assert.rejects(dialLink(address, { identity: await testIdentity('link-client'), deviceId: (await testIdentity('other')).deviceId }),
    (e) => isSealsyncError(e, 'ERR_PEER_IDENTITY'));
});

test('a listener without a link handler refuses the link ALPN', async (t) => {
  const { address, id } = await listener(t);
  await assert.rejects(dialLink(address, { identity: await testIdentity('link-client'), deviceId: id }));
});

test('an oversized frame, a non-JSON body or a flood of unread messages closes the channel', async (t) => {
  const errors: unknown[] = [];
  const seen: LinkChannel[] = [];
  const { address, id } = await listener(t, (c) => { seen.push(new LinkChannel(c)); });
  const identity = await testIdentity('link-client');
  const rawFrame = (len: number, body: Buffer) => { const h = Buffer.alloc(4); h.writeUInt32BE(len); return Buffer.concat([h, body]); };
  for (const payload of [rawFrame(MAX_LINK_MESSAGE_BYTES + 1, Buffer.alloc(0)), rawFrame(3, Buffer.from('{no')),
    Buffer.concat(Array.from({ length: 9 }, () => rawFrame(2, Buffer.from('{}'))))]) {
    const c = await dialLink(address, { identity, deviceId: id });
    c.socket.write(payload);
    const server = await (async () => { for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20)); return seen.shift() as LinkChannel; })();
    await new Promise((r) => setTimeout(r, 100));
    if (payload.byteLength > 40) { for (let i = 0; i < 8; i++) await server.next({ timeoutMs: 50 }).catch(() => undefined); }
    await server.next({ timeoutMs: 500 }).catch((e: unknown) => errors.push(e));
    c.close();
  }
  assert.equal(errors.length, 3);
  assert.ok(errors.every((e) => isSealsyncError(e, 'ERR_PROTOCOL') || isSealsyncError(e, 'ERR_CONNECTION_CLOSED')), String(errors));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { dial, SyncListener, ALPN_PROTOCOL, type SecureConnection } from './transport.js';
import { testIdentity } from './testing/fixtures.js';
import { isSealsyncError } from '../errors.js';

async function listener(onConnection: (c: SecureConnection) => void = (c) => c.socket.destroy()) {
  const l = new SyncListener({ listen: '127.0.0.1:0', identity: await testIdentity('server'), onConnection });
  await l.start();
  const [address] = l.addresses();
  assert.ok(address);
  return { l, address };
}

test('Ed25519 TLS 1.3: both sides learn the other device id and share an exporter', async () => {
  const server = await testIdentity('server');
  const client = await testIdentity('client');
  let resolveIncoming!: (c: SecureConnection) => void;
  const got = new Promise<SecureConnection>((resolve) => (resolveIncoming = resolve));
  const { l, address } = await listener((c) => resolveIncoming(c));
  assert.match(address, /^tcp:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
  const out = await dial(address, { identity: client, expectedDeviceId: server.deviceId, timeoutMs: 5000 });
  const incoming = await got;
  assert.equal(out.remoteDeviceId, server.deviceId);
  assert.equal(out.direction, 'outgoing');
  assert.equal(out.address, address);
  assert.equal(incoming.remoteDeviceId, client.deviceId);
  assert.equal(incoming.direction, 'incoming');
  assert.match(incoming.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(out.socket.getProtocol(), 'TLSv1.3');
  const ctx = Buffer.alloc(32, 7);
  const a = out.socket.exportKeyingMaterial(32, 'EXPORTER-sealsync-access-v1', ctx);
  const b = incoming.socket.exportKeyingMaterial(32, 'EXPORTER-sealsync-access-v1', ctx);
  assert.ok(a.equals(b));
  out.socket.destroy();
  await l.stop();
  assert.equal(incoming.socket.destroyed, true, 'stop() destroys accepted sockets');
});

test('dialling a known id refuses a different device', async () => {
  const { l, address } = await listener();
  const other = await testIdentity('other');
  await assert.rejects(
    dial(address, { identity: await testIdentity('client'), expectedDeviceId: other.deviceId, timeoutMs: 5000 }),
    (e) => isSealsyncError(e, 'ERR_PEER_IDENTITY'),
  );
  await l.stop();
});

test('clients without a certificate, with TLS 1.2 or without ALPN are refused', async () => {
  let accepted = 0;
  const { l, address } = await listener((c) => {
    accepted++;
    c.socket.destroy();
  });
  const port = Number(address.split(':').pop());
  const attempt = (opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
      s.on('error', () => resolve('error'));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('data'));
    });
  const client = await testIdentity('client');
  assert.notEqual(await attempt({ ALPNProtocols: [ALPN_PROTOCOL] }), 'data');
  assert.notEqual(await attempt({ key: client.privateKeyPem, cert: client.certificatePem, maxVersion: 'TLSv1.2', ALPNProtocols: [ALPN_PROTOCOL] }), 'data');
  assert.notEqual(await attempt({ key: client.privateKeyPem, cert: client.certificatePem }), 'data');
  assert.equal(accepted, 0);
  await l.stop();
});

test('dial: unreachable, timeout and abort are typed errors', async () => {
  const client = await testIdentity('client');
  // A port nothing listens on.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const freePort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(dial(`tcp://127.0.0.1:${freePort}`, { identity: client, timeoutMs: 5000 }), (e) => isSealsyncError(e, 'ERR_CONNECTION_CLOSED'));
  // A TCP server that never speaks TLS.
  const muted = new Set<net.Socket>();
  const mute = net.createServer((s) => muted.add(s));
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  const mutePort = (mute.address() as net.AddressInfo).port;
  const t0 = Date.now();
  await assert.rejects(dial(`tcp://127.0.0.1:${mutePort}`, { identity: client, timeoutMs: 200 }), (e) => isSealsyncError(e, 'ERR_TIMEOUT'));
  assert.ok(Date.now() - t0 < 2000);
  const ac = new AbortController();
  const p = dial(`tcp://127.0.0.1:${mutePort}`, { identity: client, signal: ac.signal, timeoutMs: 5000 });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, (e) => isSealsyncError(e, 'ERR_ABORTED'));
  await assert.rejects(dial('tcp://nope', { identity: client }), (e) => isSealsyncError(e, 'ERR_ADDRESS'));
  for (const s of muted) s.destroy();
  await new Promise((r) => mute.close(r));
});

test('listening on a port in use is ERR_LISTEN; stop is idempotent', async () => {
  const { l, address } = await listener();
  const port = address.split(':').pop();
  const second = new SyncListener({ listen: `127.0.0.1:${port}`, identity: await testIdentity('server'), onConnection: () => undefined });
  await assert.rejects(second.start(), (e) => isSealsyncError(e, 'ERR_LISTEN'));
  await l.stop();
  await l.stop();
  assert.deepEqual(l.addresses(), []);
});

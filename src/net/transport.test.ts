import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { dial, SyncListener, ALPN_PROTOCOL, type SecureConnection } from './transport.js';
import { testIdentity, waitUntil } from './testing/fixtures.js';
import { ConnectionAdmission } from './admission.js';
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

test('a TLS handshake not done by the deadline is destroyed; past the per-address cap a connection is closed at once', async (t) => {
  const admission = new ConnectionAdmission(10, 2);
  const handed: SecureConnection[] = [];
  const l = new SyncListener({
    listen: '127.0.0.1:0', identity: await testIdentity('server'), handshakeTimeoutMs: 300, admission, onConnection: (c) => handed.push(c),
  });
  await l.start();
  t.after(() => l.stop());
  const port = l.port();
  const open = (localAddress: string) => new Promise<{ socket: net.Socket; closed: Promise<number> }>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    socket.resume();
    let t0 = 0;
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
    socket.once('connect', () => {
      t0 = Date.now();
      resolve({ socket, closed });
    });
  });
  const [a, b] = [await open('127.0.0.21'), await open('127.0.0.21')];
  const third = await open('127.0.0.21');
  assert.ok(await third.closed < 250, 'the third from one address is closed at once');
  const other = await open('127.0.0.22');
  other.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01])); // the start of a ClientHello, then silence
  for (const s of [a, b, other]) {
    const ms = await s.closed;
    assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
  }
  // The listener sees each close a moment after the client does.
  await waitUntil(() => admission.size === 0, 2000, 'every place given back');
  // A peer that finishes TLS in time gets its ticket and the rest of the deadline with the connection.
  const out = await dial(l.addresses()[0] as string, { identity: await testIdentity('client'), timeoutMs: 5000, localAddress: '127.0.0.21' });
  await waitUntil(() => handed.length === 1, 2000, 'the connection handed over');
  const conn = handed[0] as SecureConnection;
  assert.ok(conn.admission && conn.handshakeDeadline !== undefined && conn.handshakeDeadline <= Date.now() + 300);
  assert.equal(admission.countFrom('127.0.0.21'), 1);
  conn.admission.release();
  assert.equal(admission.countFrom('127.0.0.21'), 0);
  out.socket.destroy();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { isSealsyncError } from '../errors.js';
import { BASE32_ALPHABET } from './base32.js';
import { createDeviceIdentity, deviceIdFromCertificate } from './device.js';
import { formatDeviceId, parseDeviceId } from './device-id.js';

const NOW = new Date('2026-01-02T03:04:05Z');

test('device id text: 8 groups of 7, round trip, every single substitution rejected', () => {
  const hash = Uint8Array.from({ length: 32 }, (_, i) => i * 5);
  const text = formatDeviceId(hash);
  assert.match(text, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/);
  assert.deepEqual(parseDeviceId(text), hash);
  assert.deepEqual(parseDeviceId(text.toLowerCase().replace(/-/g, ' ')), hash);
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '-') continue;
    for (const c of BASE32_ALPHABET) {
      if (c === text[i]) continue;
      assert.throws(() => parseDeviceId(text.slice(0, i) + c + text.slice(i + 1)), (err) => isSealsyncError(err, 'ERR_DEVICE_ID'));
    }
  }
  for (const bad of ['', 'ABC', text + 'A', text.replace(/^./, '1')]) {
    assert.throws(() => parseDeviceId(bad), (err) => isSealsyncError(err, 'ERR_DEVICE_ID'));
  }
});

test('identity: Ed25519 self-signed certificate, long validity, id from SPKI (PEM or DER)', async () => {
  const id = await createDeviceIdentity('laptop\u0000<evil>', NOW);
  const cert = new X509Certificate(id.certificatePem);
  assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
  assert.ok(cert.verify(cert.publicKey));
  assert.ok(new Date(cert.validFrom) <= NOW);
  assert.ok(new Date(cert.validTo).getUTCFullYear() >= 2070);
  assert.match(cert.subject, /^CN=laptop/);
  assert.equal(cert.subject.includes('\u0000'), false);
  assert.equal(deviceIdFromCertificate(cert.raw), id.deviceId);
  assert.equal(deviceIdFromCertificate(id.certificatePem), id.deviceId);
  assert.match(id.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const another = await createDeviceIdentity('laptop', NOW);
  assert.notEqual(another.deviceId, id.deviceId);
  assert.throws(() => deviceIdFromCertificate('not a cert'), (err) => isSealsyncError(err, 'ERR_DEVICE_ID'));
});

test('the identity works as a Node TLS 1.3 key/cert pair on both ends, and pins by device id', async () => {
  const server = await createDeviceIdentity('server', NOW);
  const client = await createDeviceIdentity('client', NOW);
  const srv = tls.createServer({ key: server.privateKeyPem, cert: server.certificatePem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false });
  const seenByServer = new Promise<string>((resolve) => {
    srv.on('secureConnection', (s) => {
      resolve(deviceIdFromCertificate(s.getPeerX509Certificate()?.raw ?? new Uint8Array()));
      s.end();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = srv.address() as AddressInfo;
    const sock = tls.connect({ host: '127.0.0.1', port, key: client.privateKeyPem, cert: client.certificatePem, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    const signal = AbortSignal.timeout(5000);
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', resolve);
      sock.once('error', reject);
      signal.addEventListener('abort', () => reject(new Error('tls timeout')));
    });
    assert.equal(sock.getProtocol(), 'TLSv1.3');
    assert.equal(deviceIdFromCertificate(sock.getPeerX509Certificate()?.raw ?? new Uint8Array()), server.deviceId);
    assert.equal(await seenByServer, client.deviceId);
    sock.destroy();
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePeerAddress, parseListenAddress, formatPeerAddress, normalizePeerAddress } from './peer-address.js';
import { isSealsyncError } from '../errors.js';

test('valid peer addresses parse and format canonically', () => {
  assert.deepEqual(parsePeerAddress('tcp://127.0.0.1:22000'), { host: '127.0.0.1', port: 22000 });
  assert.deepEqual(parsePeerAddress('tcp://[::1]:1'), { host: '::1', port: 1 });
  assert.deepEqual(parsePeerAddress('TCP://NAS.Example.org:65535'), { host: 'nas.example.org', port: 65535 });
  assert.equal(formatPeerAddress({ host: '::1', port: 8 }), 'tcp://[::1]:8');
  assert.equal(normalizePeerAddress('tcp://Host-1:0080'), 'tcp://host-1:80');
});

// Found by fuzzing (test/fuzz, target peer-addresses): IPv6 hosts kept their case, so
// `[FE80::1]` and `[fe80::1]` were two canonical forms of one address.
test('IPv6 hosts are lower case like every other host; a zone id keeps its case', () => {
  assert.equal(normalizePeerAddress('tcp://[FE80::1]:22000'), 'tcp://[fe80::1]:22000');
  assert.equal(normalizePeerAddress('tcp://[fE80::aB]:1'), normalizePeerAddress('tcp://[fe80::ab]:1'));
  assert.deepEqual(parseListenAddress('[2001:DB8::1]:0'), { host: '2001:db8::1', port: 0 });
  assert.deepEqual(parsePeerAddress('tcp://[FE80::1%ETH0]:1'), { host: 'fe80::1%ETH0', port: 1 });
});

test('invalid peer addresses are ERR_ADDRESS', () => {
  const bad: unknown[] = [
    '', 'tcp://', '127.0.0.1:80', 'http://a:1', 'tcp://a', 'tcp://a:', 'tcp://a:0', 'tcp://a:65536', 'tcp://a:-1',
    'tcp://a:1x', 'tcp://::1:80', 'tcp://[::1]80', 'tcp://[zz]:80', 'tcp://a b:1', 'tcp://-a:1', 'tcp://a..b:1',
    'tcp://' + 'a'.repeat(64) + ':1', 'tcp://' + 'a.'.repeat(200) + ':1', 42, null, 'tcp://a:1/path', 'tcp://user@a:1',
  ];
  for (const b of bad) assert.throws(() => parsePeerAddress(b), (e) => isSealsyncError(e, 'ERR_ADDRESS'), String(b));
});

test('listen addresses allow port 0 and an optional scheme', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenAddress('tcp://[::]:22000'), { host: '::', port: 22000 });
  assert.throws(() => parseListenAddress('127.0.0.1'), (e) => isSealsyncError(e, 'ERR_ADDRESS'));
});

test('a peer spec is an address with an optional pinned device id, in every spelling', async () => {
  const { parsePeerSpec, formatPeerSpec } = await import('./peer-address.js');
  const { formatDeviceId } = await import('../crypto/device-id.js');
  const id = formatDeviceId(new Uint8Array(32).fill(7));
  const lower = id.toLowerCase();
  const compact = id.replace(/-/g, '');
  const want = { address: 'tcp://127.0.0.1:22000', deviceId: id };
  for (const s of [
    `${id}@127.0.0.1:22000`, `${lower}@127.0.0.1:22000`, `${compact}@tcp://127.0.0.1:22000`,
    `tcp://127.0.0.1:22000#${id}`, `TCP://127.0.0.1:22000#${lower}`, `  tcp://127.0.0.1:22000#${compact} `,
    `127.0.0.1:22000#${id}`,
  ]) assert.deepEqual(parsePeerSpec(s), want, s);
  assert.deepEqual(parsePeerSpec('127.0.0.1:22000'), { address: 'tcp://127.0.0.1:22000' });
  assert.deepEqual(parsePeerSpec('[::1]:22000'), { address: 'tcp://[::1]:22000' });
  assert.deepEqual(parsePeerSpec('NAS.local:22000'), { address: 'tcp://nas.local:22000' });
  assert.deepEqual(parsePeerSpec(`${id}@[::1]:7`), { address: 'tcp://[::1]:7', deviceId: id });
  assert.deepEqual(parsePeerSpec('tcp://Host:22000'), { address: 'tcp://host:22000' });
  assert.equal(formatPeerSpec(want), `tcp://127.0.0.1:22000#${id}`);
  assert.equal(formatPeerSpec({ address: 'tcp://a:1' }), 'tcp://a:1');
});

test('every bad peer spec is one ERR_ADDRESS line', async () => {
  const { parsePeerSpec } = await import('./peer-address.js');
  const { formatDeviceId } = await import('../crypto/device-id.js');
  const id = formatDeviceId(new Uint8Array(32).fill(7));
  const typo = (id[0] === 'A' ? 'B' : 'A') + id.slice(1);
  const bad: unknown[] = [
    '', '@127.0.0.1:1', `${id}@`, `${id}@127.0.0.1`, `${id}@127.0.0.1:0`, 'tcp://127.0.0.1:1#', `tcp://127.0.0.1:1#${typo}`,
    `${typo}@127.0.0.1:1`, `${id}@tcp://127.0.0.1:1#${id}`, `tcp://${id}@127.0.0.1:1`, 'tcp://a:1#nope', 'nope@a:1',
    `${id}@${id}@a:1`, 'x'.repeat(1000), 42, null, `${id}`, `#${id}`,
    'garbage', 'http://a:1', `udp://a:1#${id}`, 'a:1:2', '::1:22000', 'a:', ':22000', 'a:99999',
  ];
  for (const b of bad) {
    assert.throws(() => parsePeerSpec(b), (e) => isSealsyncError(e, 'ERR_ADDRESS') && !e.message.includes('\n'), String(b).slice(0, 60));
  }
});

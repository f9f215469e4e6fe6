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

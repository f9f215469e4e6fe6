import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionAdmission, sourceKey, type AdmissionTicket } from './admission.js';

test('per-source and total caps: refused past either, a released ticket frees its place once', () => {
  const a = new ConnectionAdmission(5, 2);
  const t1 = a.admit('10.0.0.1') as AdmissionTicket;
  const t2 = a.admit('10.0.0.1') as AdmissionTicket;
  assert.equal(typeof t1, 'object');
  assert.equal(a.admit('10.0.0.1'), 'too many unjoined connections from this address');
  assert.equal(typeof a.admit('10.0.0.2'), 'object', 'another source has its own share');
  assert.equal(typeof a.admit('10.0.0.3'), 'object');
  assert.equal(typeof a.admit('10.0.0.3'), 'object');
  assert.equal(a.size, 5);
  assert.equal(a.admit('10.0.0.4'), 'too many unjoined connections');
  t1.release();
  t1.release(); // idempotent: frees one place, not two
  assert.equal(a.size, 4);
  assert.equal(a.countFrom('10.0.0.1'), 1);
  assert.equal(typeof a.admit('10.0.0.4'), 'object');
  assert.equal(a.admit('10.0.0.5'), 'too many unjoined connections');
  t2.release();
  assert.equal(a.countFrom('10.0.0.1'), 0);
});

test('a source is an IPv4 address (also IPv4-mapped) or an IPv6 /64, however it is spelled', () => {
  assert.equal(sourceKey('127.0.0.2'), '127.0.0.2');
  assert.equal(sourceKey('::ffff:127.0.0.2'), '127.0.0.2');
  const k = sourceKey('2001:db8:1:2::1');
  for (const spelling of ['2001:db8:1:2::ffff', '2001:0db8:0001:0002:0:0:0:7', '2001:DB8:1:2:abcd:ef01:2345:6789']) {
    assert.equal(sourceKey(spelling), k, spelling);
  }
  assert.notEqual(sourceKey('2001:db8:1:3::1'), k, 'another /64 is another source');
  assert.equal(sourceKey('::1'), sourceKey('0:0:0:0:0:0:0:1'));
  assert.equal(sourceKey('fe80::1%eth0'), sourceKey('fe80::2'));
});

test('one IPv6 host changing its address within its /64 stays one source', () => {
  const a = new ConnectionAdmission(100, 3);
  for (let i = 1; i <= 3; i++) assert.equal(typeof a.admit(`2001:db8:0:1::${i}`), 'object');
  assert.equal(a.admit('2001:db8:0:1::99'), 'too many unjoined connections from this address');
});

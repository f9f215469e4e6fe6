import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedHostHeaders, isAllowedHost, isAllowedOrigin, isLoopbackHost, parseListenAddress } from './host-origin.js';
import { safeEqualStrings } from './timing-safe.js';
import { readCookie, sessionCookie, sessionCookieName } from './cookies.js';
import { isSealsyncError } from '../../errors.js';

test('listen addresses parse strictly', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8384'), { host: '127.0.0.1', port: 8384 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress('localhost:9'), { host: 'localhost', port: 9 });
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:65536', 'evil.example:80', '[nope]:1', '1.2.3.4:-1', '::1:80']) {
    assert.throws(() => parseListenAddress(bad), (e) => isSealsyncError(e, 'ERR_ADDRESS'), bad);
  }
  assert.equal(isLoopbackHost('127.0.0.1'), true);
  assert.equal(isLoopbackHost('127.5.5.5'), true);
  assert.equal(isLoopbackHost('::1'), true);
  assert.equal(isLoopbackHost('0.0.0.0'), false);
  assert.equal(isLoopbackHost('192.168.1.2'), false);
});

test('Host must be exactly the bound address (DNS rebinding)', () => {
  const allowed = allowedHostHeaders({ host: '127.0.0.1', port: 4321 });
  assert.deepEqual([...allowed].sort(), ['127.0.0.1:4321', 'localhost:4321']);
  assert.equal(isAllowedHost('127.0.0.1:4321', allowed), true);
  assert.equal(isAllowedHost('LOCALHOST:4321', allowed), true);
  for (const bad of ['evil.example', 'evil.example:4321', '127.0.0.1', '127.0.0.1:4322', '127.0.0.1:4321.evil.example', '', undefined, ['127.0.0.1:4321']]) {
    assert.equal(isAllowedHost(bad, allowed), false, String(bad));
  }
  const v6 = allowedHostHeaders({ host: '::1', port: 5 });
  assert.ok(v6.has('[::1]:5') && v6.has('localhost:5'));
  const lan = allowedHostHeaders({ host: '192.168.1.20', port: 8443 }, ['nas.home']);
  assert.deepEqual([...lan].sort(), ['192.168.1.20:8443', 'nas.home:8443']);
});

test('Origin, when present, must be our own origin', () => {
  assert.equal(isAllowedOrigin(undefined, 'http', '127.0.0.1:80'), true);
  assert.equal(isAllowedOrigin('http://127.0.0.1:80', 'http', '127.0.0.1:80'), true);
  for (const bad of ['null', 'https://127.0.0.1:80', 'http://evil.example', 'http://127.0.0.1:81', 'http://127.0.0.1:80/', '']) {
    assert.equal(isAllowedOrigin(bad, 'http', '127.0.0.1:80'), false, bad);
  }
});

test('CSRF comparison: equal strings only, never empty or non-strings', () => {
  assert.equal(safeEqualStrings('abc', 'abc'), true);
  assert.equal(safeEqualStrings('abc', 'abd'), false);
  assert.equal(safeEqualStrings('abc', 'abcd'), false);
  assert.equal(safeEqualStrings('', ''), false);
  assert.equal(safeEqualStrings(undefined, undefined), false);
  assert.equal(safeEqualStrings(['abc'], 'abc'), false);
});

test('session cookie: HttpOnly, SameSite=Strict, Path=/, Secure and __Host- on HTTPS', () => {
  assert.equal(sessionCookie('abc', { name: 's', secure: false }), 's=abc; Path=/; HttpOnly; SameSite=Strict');
  assert.equal(sessionCookie('abc', { name: 's', secure: true, maxAgeS: 60 }), 's=abc; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=60');
  assert.throws(() => sessionCookie('a;b', { name: 's', secure: false }));
  assert.equal(sessionCookieName(80, true), '__Host-sealsync_session_80');
  assert.equal(sessionCookieName(80, false), 'sealsync_session_80');
  assert.equal(readCookie('a=1; sealsync_session_80=xyz; b=2', 'sealsync_session_80'), 'xyz');
  assert.equal(readCookie('a=1', 'sealsync_session_80'), undefined);
  assert.equal(readCookie(undefined, 'x'), undefined);
});

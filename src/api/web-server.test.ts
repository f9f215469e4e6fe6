import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WebServer, assertSafeUiListen } from './web-server.js';
import { registerApiRoutes } from './routes.js';
import { AuthStore, memoryPasswordStore } from './web-auth/auth-store.js';
import { hashPassword } from './web-auth/password-hash.js';
import { CONTENT_SECURITY_POLICY } from './security-headers.js';
import { silentLogger } from '../logger.js';
import { isSealsyncError } from '../errors.js';
import { STATUS_SCHEMA_VERSION, type DaemonApi } from './daemon-api.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

/** Just enough of the daemon for the guard tests, behind the real REST routes plugin. */
function fakeApi(calls: string[]): DaemonApi {
  return {
    status: () => ({ schemaVersion: STATUS_SCHEMA_VERSION, device: { id: 'DEV', name: '<img src=x onerror=alert(1)>', listen: [] }, folders: [], peers: [] }),
    listFolders: () => [],
    addFolder: async (req) => { calls.push(`add ${req.path}`); return { path: req.path, type: 'rw', folderId: 'f', rescanIntervalS: 60, watch: true }; },
    removeFolder: async (p) => { calls.push(`remove ${p}`); },
    shareFolder: () => 'Wkey',
    listPeers: () => [],
    addPeer: async () => { throw new Error('unused'); },
    removePeer: async () => undefined,
    getSettings: () => { throw new Error('unused'); },
    patchSettings: async () => { throw new Error('unused'); },
    events: { subscribe: () => () => undefined, recent: () => [] },
    requestStop: () => undefined,
  };
}

let dir: string;
let staticDir: string;
let server: WebServer;
let auth: AuthStore;
let app: FastifyInstance;
let host: string;
const calls: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealsync-web-'));
  staticDir = join(dir, 'dist');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>sealsync</title>');
  await writeFile(join(staticDir, 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(staticDir, 'assets', 'app-1234.css'), 'body{}');
  await writeFile(join(staticDir, '.secret.js'), 'hidden');
  await writeFile(join(dir, 'outside.js'), 'outside');
  await symlink(join(dir, 'outside.js'), join(staticDir, 'assets', 'escape.js'));
  auth = new AuthStore({ passwords: memoryPasswordStore(await hashPassword('right password', FAST_SCRYPT)), sleep: async () => undefined });
  server = new WebServer(
    { api: fakeApi(calls), logger: silentLogger(), authStore: auth, registerRoutes: registerApiRoutes, newFolderKey: () => 'WNEWKEY' },
    { listen: '127.0.0.1:0', home: dir, staticDir },
  );
  await server.start();
  app = server.fastify as FastifyInstance;
  host = new URL(server.url()).host;
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function login(): Promise<{ cookie: string; csrf: string }> {
  const { token } = auth.issueLoginToken();
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { token } });
  assert.equal(res.statusCode, 200);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0] as string, csrf: res.json().csrfToken };
}

test('url() is loopback on the bound port', () => {
  assert.match(server.url(), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(host, '127.0.0.1:0');
});

test('no session: the API answers 401; a path that is no route is 404', async () => {
  for (const url of ['/api/status', '/api/session', '/api/events']) {
    const res = await app.inject({ method: 'GET', url, headers: { host } });
    assert.equal(res.statusCode, 401, url);
    assert.equal(res.json().error.code, 'ERR_UNAUTHORIZED');
    assert.equal(res.headers['cache-control'], 'no-store');
  }
  for (const [method, url] of [['GET', '/api/session-less'], ['POST', '/api/nothing'], ['GET', '/API/status'], ['GET', '/Api']] as const) {
    const res = await app.inject({ method, url, headers: { host } });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.equal(res.json().error.code, 'ERR_NOT_FOUND');
  }
});

test('a one-time token logs in once; the cookie is HttpOnly, SameSite=Strict, Path=/', async () => {
  const { token } = auth.issueLoginToken();
  const first = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { token } });
  assert.equal(first.statusCode, 200);
  const cookie = String(first.headers['set-cookie']);
  assert.match(cookie, /^sealsync_session_\d+=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/);
  const second = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { token } });
  assert.equal(second.statusCode, 401);
  assert.equal(second.json().error.code, 'ERR_LOGIN');
  const status = await app.inject({ method: 'GET', url: '/api/status', headers: { host, cookie: cookie.split(';')[0] } });
  assert.equal(status.statusCode, 200);
  assert.equal(status.json().device.name, '<img src=x onerror=alert(1)>');
});

test('GET /login?token= sets the session and redirects to /; a used token lands on the expired page', async () => {
  const { token } = auth.issueLoginToken();
  const res = await app.inject({ method: 'GET', url: `/login?token=${token}`, headers: { host } });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/');
  assert.match(String(res.headers['set-cookie']), /HttpOnly/);
  const again = await app.inject({ method: 'GET', url: `/login?token=${token}`, headers: { host } });
  assert.equal(again.statusCode, 303);
  assert.equal(again.headers.location, '/login#expired');
  assert.equal(again.headers['set-cookie'], undefined);
});

test('password login: right password works, wrong one is 401', async () => {
  const bad = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { password: 'wrong password' } });
  assert.equal(bad.statusCode, 401);
  const good = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { password: 'right password' } });
  assert.equal(good.statusCode, 200);
  assert.equal(typeof good.json().csrfToken, 'string');
  const junk = await app.inject({ method: 'POST', url: '/api/login', headers: { host }, payload: { password: 'x', admin: true } });
  assert.equal(junk.statusCode, 400);
});

test('POST/DELETE without (or with a wrong) CSRF token is 403 and never reaches the daemon', async () => {
  const { cookie, csrf } = await login();
  const before = calls.length;
  const none = await app.inject({ method: 'POST', url: '/api/folders', headers: { host, cookie }, payload: { path: '/x', key: 'W' } });
  assert.equal(none.statusCode, 403);
  assert.equal(none.json().error.code, 'ERR_CSRF');
  const wrong = await app.inject({ method: 'DELETE', url: '/api/folders', headers: { host, cookie, 'x-csrf-token': csrf.slice(1) }, payload: { path: '/x' } });
  assert.equal(wrong.statusCode, 403);
  const other = await login();
  const crossed = await app.inject({ method: 'POST', url: '/api/folders', headers: { host, cookie, 'x-csrf-token': other.csrf }, payload: { path: '/x', key: 'W' } });
  assert.equal(crossed.statusCode, 403, "another session's token is not this session's");
  assert.equal(calls.length, before);
  const ok = await app.inject({ method: 'POST', url: '/api/folders', headers: { host, cookie, 'x-csrf-token': csrf }, payload: { path: '/x', key: 'W' } });
  assert.equal(ok.statusCode, 201);
  assert.deepEqual(calls.slice(before), ['add /x']);
});

test('a foreign Host is refused before anything else (DNS rebinding)', async () => {
  const { cookie } = await login();
  for (const h of ['evil.example', `evil.example:${new URL(server.url()).port}`, '127.0.0.1:1']) {
    const res = await app.inject({ method: 'GET', url: '/api/status', headers: { host: h, cookie } });
    assert.equal(res.statusCode, 421, h);
    assert.equal(res.json().error.code, 'ERR_HOST');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  }
  const page = await app.inject({ method: 'GET', url: '/', headers: { host: 'evil.example' } });
  assert.equal(page.statusCode, 421);
  const local = await app.inject({ method: 'GET', url: '/api/status', headers: { host: `localhost:${new URL(server.url()).port}`, cookie } });
  assert.equal(local.statusCode, 200);
});

test('a foreign Origin or a cross-site fetch is refused', async () => {
  const { cookie, csrf } = await login();
  const foreign = await app.inject({ method: 'POST', url: '/api/folders', headers: { host, cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' }, payload: { path: '/y', key: 'W' } });
  assert.equal(foreign.statusCode, 403);
  assert.equal(foreign.json().error.code, 'ERR_ORIGIN');
  const nullOrigin = await app.inject({ method: 'GET', url: '/api/status', headers: { host, cookie, origin: 'null' } });
  assert.equal(nullOrigin.statusCode, 403);
  const crossSite = await app.inject({ method: 'GET', url: '/api/status', headers: { host, cookie, 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSite.statusCode, 403);
  const own = await app.inject({ method: 'GET', url: '/api/status', headers: { host, cookie, origin: `http://${host}` } });
  assert.equal(own.statusCode, 200);
  const loginFromElsewhere = await app.inject({ method: 'POST', url: '/api/login', headers: { host, origin: 'http://evil.example' }, payload: { password: 'right password' } });
  assert.equal(loginFromElsewhere.statusCode, 403);
});

test('every response carries the security headers; static files have exact types, no listing, no escape', async () => {
  const page = await app.inject({ method: 'GET', url: '/', headers: { host } });
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  const js = await app.inject({ method: 'GET', url: '/assets/app-1234.js', headers: { host } });
  assert.equal(js.statusCode, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.match(String(js.headers['cache-control']), /immutable/);
  const css = await app.inject({ method: 'GET', url: '/assets/app-1234.css', headers: { host } });
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  for (const url of ['/assets', '/assets/escape.js', '/nope.js']) {
    const res = await app.inject({ method: 'GET', url, headers: { host } });
    assert.equal(res.statusCode, 404, url);
  }
  for (const url of ['/assets/', '/.secret.js', '/assets/..%2F..%2Foutside.js', '/assets/%00.js', '/assets/app%2D1234.js']) {
    const res = await app.inject({ method: 'GET', url, headers: { host } });
    assert.equal(res.statusCode, 400, url);
    assert.equal(res.json().error.code, 'ERR_PATH_NOT_CANONICAL');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  }
  const login = await app.inject({ method: 'GET', url: '/login', headers: { host } });
  assert.equal(login.statusCode, 200);
  assert.equal(login.headers['cache-control'], 'no-store');
});

test('logout ends the session; /api/ui/* is never served over HTTP', async () => {
  const { cookie, csrf } = await login();
  const ui = await app.inject({ method: 'POST', url: '/api/ui/login-token', headers: { host, cookie, 'x-csrf-token': csrf }, payload: {} });
  assert.equal(ui.statusCode, 404);
  const noCsrf = await app.inject({ method: 'POST', url: '/api/logout', headers: { host, cookie }, payload: {} });
  assert.equal(noCsrf.statusCode, 403);
  const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { host, cookie, 'x-csrf-token': csrf }, payload: {} });
  assert.equal(out.statusCode, 200);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  const after = await app.inject({ method: 'GET', url: '/api/status', headers: { host, cookie } });
  assert.equal(after.statusCode, 401);
});

test('new key and password change need a session and CSRF; a password change needs the current one', async () => {
  const { cookie, csrf } = await login();
  const key = await app.inject({ method: 'POST', url: '/api/keys/new', headers: { host, cookie, 'x-csrf-token': csrf }, payload: {} });
  assert.deepEqual(key.json(), { key: 'WNEWKEY' });
  const wrong = await app.inject({ method: 'POST', url: '/api/password', headers: { host, cookie, 'x-csrf-token': csrf }, payload: { current: 'nope nope', password: 'a new password' } });
  assert.equal(wrong.statusCode, 401);
  const short = await app.inject({ method: 'POST', url: '/api/password', headers: { host, cookie, 'x-csrf-token': csrf }, payload: { current: 'right password', password: 'short' } });
  assert.equal(short.statusCode, 400);
  assert.equal(short.json().error.code, 'ERR_PASSWORD');
});

test('binding beyond loopback needs HTTPS and a password', async () => {
  assert.throws(() => assertSafeUiListen('0.0.0.0:8384', { https: false, passwordSet: true }), (e) => isSealsyncError(e, 'ERR_UI_UNSAFE_LISTEN'));
  assert.throws(() => assertSafeUiListen('0.0.0.0:8384', { https: true, passwordSet: false }), (e) => isSealsyncError(e, 'ERR_UI_UNSAFE_LISTEN'));
  assert.deepEqual(assertSafeUiListen('0.0.0.0:8384', { https: true, passwordSet: true }), { host: '0.0.0.0', port: 8384 });
  assert.deepEqual(assertSafeUiListen('127.0.0.1:0', { https: false, passwordSet: false }), { host: '127.0.0.1', port: 0 });
  const unsafe = new WebServer(
    { api: fakeApi([]), logger: silentLogger(), authStore: new AuthStore({ passwords: memoryPasswordStore() }), registerRoutes: registerApiRoutes },
    { listen: '0.0.0.0:0', home: dir, staticDir },
  );
  await assert.rejects(unsafe.start(), (e) => isSealsyncError(e, 'ERR_UI_UNSAFE_LISTEN') && !e.message.includes('\n'));
  assert.equal(unsafe.running, false);
});

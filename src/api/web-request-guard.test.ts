/**
 * The dashboard's guard is keyed on the route table, not on URL text: every
 * route and method Fastify registered, spelled every non-canonical way, with
 * no session and no CSRF token, is refused before any handler runs (the API
 * records every call it gets, and there must be none). Also: a route added
 * without an access rule needs a session, a control-only route cannot be
 * mounted on the dashboard, and the one-time URL logs in whatever the
 * throttle says.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WebServer } from './web-server.js';
import { registerApiRoutes } from './routes.js';
import { AuthStore, memoryPasswordStore } from './web-auth/auth-store.js';
import { hashPassword } from './web-auth/password-hash.js';
import { sessionCookieName } from './web-auth/cookies.js';
import { silentLogger } from '../logger.js';
import { isSealsyncError } from '../errors.js';
import type { DaemonApi } from './daemon-api.js';
import { attackEverySpelling } from './testing/spelling-attacks.js';
import { rawRequest } from './testing/raw-http.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

/** A DaemonApi where every member is a function that records its name: any call at all is a handler reached. */
function recordingApi(calls: string[]): DaemonApi {
  const events = { subscribe: () => { calls.push('events.subscribe'); return () => undefined; }, recent: () => { calls.push('events.recent'); return []; } };
  return new Proxy({} as DaemonApi, {
    get: (_target, name) => (name === 'events' ? events : (...args: unknown[]) => { calls.push(`${String(name)}(${JSON.stringify(args).slice(0, 80)})`); return undefined; }),
  });
}

let dir: string;
let staticDir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealsync-guard-'));
  staticDir = join(dir, 'dist');
  await mkdir(staticDir, { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>sealsync</title>');
});
after(() => rm(dir, { recursive: true, force: true }));

async function startServer(calls: string[], opts: { extraRoutes?: (app: FastifyInstance) => void; auth?: AuthStore } = {}) {
  const auth = opts.auth ?? new AuthStore({ passwords: memoryPasswordStore(await hashPassword('right password', FAST_SCRYPT)), sleep: async () => undefined });
  const server = new WebServer(
    {
      api: recordingApi(calls),
      logger: silentLogger(),
      authStore: auth,
      registerRoutes: async (app, api) => { await registerApiRoutes(app, api); opts.extraRoutes?.(app); },
      newFolderKey: () => { calls.push('newFolderKey'); return 'WNEWKEY'; },
    },
    { listen: '127.0.0.1:0', home: dir, staticDir },
  );
  await server.start();
  const url = new URL(server.url());
  return { server, auth, host: url.hostname, port: Number(url.port) };
}

test('every route and method, every non-canonical spelling, no session, no CSRF: refused (400/404), no handler runs', async () => {
  const calls: string[] = [];
  const { server, auth, host, port } = await startServer(calls);
  try {
    const routes = server.routes();
    // The table is Fastify's, not a list kept here: it holds the REST plugin's routes and the dashboard's own.
    for (const must of ['GET /api/status', 'HEAD /api/status', 'POST /api/folders/share', 'POST /api/password', 'POST /api/login', 'GET /*']) {
      assert.ok(routes.some((r) => `${r.method} ${r.url}` === must), `route table has ${must}`);
    }
    const hashBefore = await auth.checkPassword('right password');
    const { token } = auth.issueLoginToken();
    const report = await attackEverySpelling(routes, {
      host, port, concurrency: 8,
      bodies: {
        'POST /api/login': { token },
        'POST /api/password': { current: 'right password', password: 'attacker password' },
        'POST /api/folders': { path: '/etc', key: 'W' },
        'POST /api/folders/share': { path: '/f', type: 'rw' },
        'POST /api/peers': { address: 'tcp://127.0.0.1:9' },
        'PATCH /api/settings': { device: { name: 'pwned' } },
      },
    });
    assert.ok(report.requests > routes.length * 50, `${report.requests} requests`);
    assert.deepEqual(report.accepted, []);
    assert.deepEqual(calls, [], 'no handler reached the daemon');
    assert.equal(auth.sessions.size, 0, 'no session was created');
    assert.equal(auth.tokens.outstanding, 1, 'the login token was not consumed');
    assert.equal(hashBefore && (await auth.checkPassword('right password')), true, 'the password is unchanged');
    // The canonical spelling still works (the guard refuses spellings, not the routes).
    const plain = await rawRequest({ host, port, method: 'GET', target: '/api/status' });
    assert.equal(plain.status, 401);
  } finally {
    await server.stop();
  }
});

test('a route registered without an access rule needs a session and CSRF (deny by default)', async () => {
  const calls: string[] = [];
  const { server, auth, host, port } = await startServer(calls, {
    extraRoutes: (app) => { app.post('/api/new-feature', async () => { calls.push('new-feature'); return { ok: true }; }); },
  });
  try {
    const anon = await rawRequest({ host, port, method: 'POST', target: '/api/new-feature', body: {} });
    assert.equal(anon.status, 401);
    const { id, session } = auth.sessions.create();
    const cookie = `${sessionCookieName(port, false)}=${id}`;
    const noCsrf = await rawRequest({ host, port, method: 'POST', target: '/api/new-feature', body: {}, headers: { cookie } });
    assert.equal(noCsrf.status, 403);
    assert.deepEqual(calls, []);
    const ok = await rawRequest({ host, port, method: 'POST', target: '/api/new-feature', body: {}, headers: { cookie, 'x-csrf-token': session.csrfToken } });
    assert.equal(ok.status, 200);
    assert.deepEqual(calls, ['new-feature']);
  } finally {
    await server.stop();
  }
});

test('a control-socket-only route (/api/ui/*) cannot be mounted on the dashboard', async () => {
  await assert.rejects(
    startServer([], { extraRoutes: (app) => { app.post('/api/ui/login-token', async () => ({ url: 'x' })); } }),
    (e) => isSealsyncError(e, 'ERR_INTERNAL') && /control socket only/.test(e.message),
  );
});

test('the one-time URL logs in while the throttle holds this address back', async () => {
  // A local user keeps a wrong password in flight (the throttle's hold-back never ends here):
  // every other password attempt from 127.0.0.1 is 'busy', but the owner's token still works.
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => { release = r; });
  const auth = new AuthStore({ passwords: memoryPasswordStore(await hashPassword('right password', FAST_SCRYPT)), sleep: () => held });
  const { server, host, port } = await startServer([], { auth });
  try {
    const attacker = rawRequest({ host, port, method: 'POST', target: '/api/login', body: { password: 'wrong guess' } });
    for (let i = 0; i < 100 && auth.throttle.failures('127.0.0.1') === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(auth.throttle.failures('127.0.0.1'), 1, 'the wrong password is being held back');
    const busy = await rawRequest({ host, port, method: 'POST', target: '/api/login', body: { password: 'right password' } });
    assert.equal(busy.status, 429, 'passwords from this address wait');
    const { token } = auth.issueLoginToken();
    const viaToken = await rawRequest({ host, port, method: 'POST', target: '/api/login', body: { token } });
    assert.equal(viaToken.status, 200, viaToken.body);
    assert.match(viaToken.head, /set-cookie: sealsync_session_/i);
    const { token: second } = auth.issueLoginToken();
    const viaLink = await rawRequest({ host, port, method: 'GET', target: `/login?token=${second}` });
    assert.equal(viaLink.status, 303);
    assert.match(viaLink.head, /location: \/\r?$/im);
    const reused = await rawRequest({ host, port, method: 'POST', target: '/api/login', body: { token } });
    assert.notEqual(reused.status, 200, 'a token still works only once');
    release();
    assert.equal((await attacker).status, 401);
  } finally {
    release();
    await server.stop();
  }
});

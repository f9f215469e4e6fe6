import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastify } from 'fastify';
import { registerUiControlRoutes } from './control-routes.js';
import { AuthStore, memoryPasswordStore } from './auth-store.js';

test('login-token mints a single-use URL; disabled dashboard is ERR_UI_DISABLED; password is stored hashed', async () => {
  const passwords = memoryPasswordStore();
  const auth = new AuthStore({ passwords });
  let base: string | null = 'http://127.0.0.1:1234';
  const app = fastify();
  await registerUiControlRoutes(app, { auth, loginUrl: (t) => (base === null ? null : `${base}/login#token=${t}`) });
  try {
    const res = await app.inject({ method: 'POST', url: '/api/ui/login-token', payload: {} });
    assert.equal(res.statusCode, 200);
    const { url, expiresAt } = res.json();
    const token = /#token=([A-Za-z0-9_-]{43})$/.exec(url)?.[1];
    assert.ok(token, url);
    assert.ok(expiresAt > Date.now());
    assert.equal(auth.tokens.consume(token), true);
    assert.equal(auth.tokens.consume(token), false);

    base = null;
    const off = await app.inject({ method: 'POST', url: '/api/ui/login-token', payload: {} });
    assert.equal(off.statusCode, 409);
    assert.equal(off.json().error.code, 'ERR_UI_DISABLED');
    assert.equal(auth.tokens.outstanding, 0);

    const short = await app.inject({ method: 'POST', url: '/api/ui/password', payload: { password: 'abc' } });
    assert.equal(short.statusCode, 400);
    assert.equal(short.json().error.code, 'ERR_PASSWORD');
    assert.equal(passwords.get(), null);
    const ok = await app.inject({ method: 'POST', url: '/api/ui/password', payload: { password: 'long enough password' } });
    assert.equal(ok.statusCode, 200);
    assert.match(passwords.get() ?? '', /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await auth.checkPassword('long enough password'), true);
  } finally {
    await app.close();
  }
});

test('logout-all ends every dashboard session at once and says how many', async () => {
  const auth = new AuthStore({ passwords: memoryPasswordStore() });
  const app = fastify();
  await registerUiControlRoutes(app, { auth, loginUrl: (t) => `http://127.0.0.1:1/login#token=${t}` });
  try {
    const a = auth.sessions.create();
    const b = auth.sessions.create();
    const res = await app.inject({ method: 'POST', url: '/api/ui/logout-all', payload: {} });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { loggedOut: 2 });
    assert.equal(auth.sessions.get(a.id), undefined);
    assert.equal(auth.sessions.get(b.id), undefined);
    const again = await app.inject({ method: 'POST', url: '/api/ui/logout-all', payload: {} });
    assert.deepEqual(again.json(), { loggedOut: 0 });
  } finally {
    await app.close();
  }
});

test('a body Fastify cannot parse is a catalog error in the API shape, and changes nothing', async () => {
  const passwords = memoryPasswordStore();
  const auth = new AuthStore({ passwords });
  const app = fastify();
  await registerUiControlRoutes(app, { auth, loginUrl: (t) => `http://127.0.0.1:1/login#token=${t}` });
  try {
    const cases: Array<{ payload: string; type: string }> = [
      { payload: '{"password": ', type: 'application/json' },
      { payload: '', type: 'application/json' },
      { payload: 'password=x', type: 'application/x-www-form-urlencoded' },
    ];
    for (const url of ['/api/ui/password', '/api/ui/login-token', '/api/ui/logout-all']) {
      for (const c of cases) {
        const res = await app.inject({ method: 'POST', url, payload: c.payload, headers: { 'content-type': c.type } });
        const what = `${url} ${c.type} ${JSON.stringify(c.payload)}`;
        assert.ok(res.statusCode === 400 || res.statusCode === 415, `${what}: ${res.statusCode}`);
        assert.equal(res.json().error?.code, 'ERR_INVALID_ARGUMENT', `${what}: ${res.body}`);
      }
    }
    assert.equal(passwords.get(), null);
    assert.equal(auth.tokens.outstanding, 0);
  } finally {
    await app.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore, SESSION_IDLE_TIMEOUT_MS, SESSION_ABSOLUTE_TIMEOUT_MS, MAX_SESSIONS } from './sessions.js';

function clock(start = 5_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('a session has a random 32-byte id and its own CSRF token', () => {
  const store = new SessionStore();
  const a = store.create();
  const b = store.create();
  assert.equal(Buffer.from(a.id, 'base64url').length, 32);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.session.csrfToken, b.session.csrfToken);
  assert.equal(store.get(a.id), a.session);
  assert.equal(store.get(a.id.slice(0, -1) + (a.id.endsWith('A') ? 'B' : 'A')), undefined);
});

test('idle expiry: use keeps a session alive, silence ends it', () => {
  const c = clock();
  const store = new SessionStore({ now: c.now });
  const { id } = store.create();
  c.advance(SESSION_IDLE_TIMEOUT_MS - 1);
  assert.ok(store.get(id));
  c.advance(SESSION_IDLE_TIMEOUT_MS - 1);
  assert.ok(store.get(id));
  c.advance(SESSION_IDLE_TIMEOUT_MS);
  assert.equal(store.get(id), undefined);
});

test('absolute expiry ends even a busy session', () => {
  const c = clock();
  const store = new SessionStore({ now: c.now });
  const { id } = store.create();
  const steps = Math.ceil(SESSION_ABSOLUTE_TIMEOUT_MS / (SESSION_IDLE_TIMEOUT_MS / 2));
  let alive = 0;
  for (let i = 0; i < steps; i++) {
    c.advance(SESSION_IDLE_TIMEOUT_MS / 2);
    if (store.get(id)) alive++;
  }
  assert.ok(alive > 0 && alive < steps);
  assert.equal(store.get(id), undefined);
});

test('destroy logs out; clear logs everyone out; the count is bounded', () => {
  const store = new SessionStore();
  const a = store.create();
  const b = store.create();
  store.destroy(a.id);
  assert.equal(store.get(a.id), undefined);
  assert.ok(store.get(b.id));
  store.clear();
  assert.equal(store.get(b.id), undefined);
  const first = store.create();
  for (let i = 0; i < MAX_SESSIONS; i++) store.create();
  assert.equal(store.size, MAX_SESSIONS);
  assert.equal(store.get(first.id), undefined);
});

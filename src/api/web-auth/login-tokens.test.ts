import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginTokens, LOGIN_TOKEN_TTL_MS, MAX_OUTSTANDING_LOGIN_TOKENS, LOGIN_TOKEN_BYTES } from './login-tokens.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('a token carries 32 random bytes and works exactly once', () => {
  const c = clock();
  const tokens = new LoginTokens({ now: c.now });
  const { token, expiresAt } = tokens.issue();
  assert.equal(Buffer.from(token, 'base64url').length, LOGIN_TOKEN_BYTES);
  assert.equal(expiresAt, c.now() + LOGIN_TOKEN_TTL_MS);
  assert.equal(tokens.consume(token), true);
  assert.equal(tokens.consume(token), false);
});

test('a token expires after two minutes', () => {
  const c = clock();
  const tokens = new LoginTokens({ now: c.now });
  const a = tokens.issue().token;
  const b = tokens.issue().token;
  c.advance(LOGIN_TOKEN_TTL_MS - 1);
  assert.equal(tokens.consume(a), true);
  c.advance(1);
  assert.equal(tokens.consume(b), false);
  assert.equal(tokens.outstanding, 0);
});

test('unknown, empty, oversized and non-string tokens are refused', () => {
  const tokens = new LoginTokens();
  const real = tokens.issue().token;
  for (const bad of ['', 'x'.repeat(500), real.slice(1), undefined, null, 7, { token: real }]) {
    assert.equal(tokens.consume(bad), false);
  }
  assert.equal(tokens.consume(real), true);
});

test('outstanding tokens are bounded: the oldest is dropped', () => {
  const tokens = new LoginTokens();
  const first = tokens.issue().token;
  for (let i = 0; i < MAX_OUTSTANDING_LOGIN_TOKENS; i++) tokens.issue();
  assert.equal(tokens.outstanding, MAX_OUTSTANDING_LOGIN_TOKENS);
  assert.equal(tokens.consume(first), false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../../errors.js';
import { InviteBook, INVITE_TTL_MS, inviteTtlFromEnv, MAX_JOIN_ATTEMPTS_PER_SOURCE, MAX_JOIN_ATTEMPTS_TOTAL, JOIN_WINDOW_MS } from './invite-book.js';

const reasonOf = (v: unknown) => (isSealsyncError(v, 'ERR_INVITE_REFUSED') ? v.data?.['reason'] : 'secret');

test('an invite is single use, expires after 10 minutes on the injected clock, and can be revoked', () => {
  let t = 1000;
  const book = new InviteBook(() => t);
  const a = book.create({ kind: 'device' });
  assert.equal(a.invite.expiresAt, 1000 + INVITE_TTL_MS);
  assert.equal(reasonOf(book.secretFor(a.invite.id)), 'secret');
  book.consume(a.invite.id, 'DEV');
  assert.equal(reasonOf(book.secretFor(a.invite.id)), 'used');
  const b = book.create({ kind: 'server', folders: ['/x'] });
  t += INVITE_TTL_MS;
  assert.equal(reasonOf(book.secretFor(b.invite.id)), 'expired');
  const c = book.create({ kind: 'device' });
  book.revoke(c.invite.id);
  assert.equal(reasonOf(book.secretFor(c.invite.id)), 'revoked');
  assert.equal(reasonOf(book.secretFor('00'.repeat(16))), 'unknown');
  assert.deepEqual(book.list().map((i) => i.state), ['used', 'expired', 'revoked']);
  assert.ok(!JSON.stringify(book.list()).includes('secret'));
  assert.throws(() => book.revoke('nope'), (e) => isSealsyncError(e, 'ERR_NOT_FOUND'));
});

test('join attempts are limited per source and in total, per window', () => {
  let t = 0;
  const book = new InviteBook(() => t);
  for (let i = 0; i < MAX_JOIN_ATTEMPTS_PER_SOURCE; i++) assert.equal(book.admitAttempt('10.0.0.1'), null);
  assert.equal(reasonOf(book.admitAttempt('10.0.0.1')), 'rate-limited');
  let n = MAX_JOIN_ATTEMPTS_PER_SOURCE;
  for (let i = 0; n < MAX_JOIN_ATTEMPTS_TOTAL; i++, n++) assert.equal(book.admitAttempt(`10.0.1.${i}`), null);
  assert.equal(reasonOf(book.admitAttempt('10.0.2.1')), 'rate-limited');
  t += JOIN_WINDOW_MS;
  assert.equal(book.admitAttempt('10.0.0.1'), null, 'the window moves on');
});

test('SEALSYNC_INVITE_TTL_MS can shorten an invite, never lengthen it', () => {
  assert.equal(inviteTtlFromEnv({ SEALSYNC_INVITE_TTL_MS: '1500' }), 1500);
  for (const v of ['', 'x', '-5', '0', String(INVITE_TTL_MS * 10), '1.5']) assert.equal(inviteTtlFromEnv({ SEALSYNC_INVITE_TTL_MS: v }), INVITE_TTL_MS, v);
  assert.equal(inviteTtlFromEnv({}), INVITE_TTL_MS);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../../errors.js';
import { InviteBook, refusal, REFUSAL_MESSAGES } from './invite-book.js';
import { firstMessage, joinAnswer, joinMessage, parseLinkMessage, refusalReasonSchema } from './link-messages.js';

const join = { t: 'join', invite: 'ab'.repeat(16), proof: 'cd'.repeat(32), name: 'vps', addresses: ['tcp://10.0.0.1:22000'] };

test('a join says whether it joins as a device or a server: required, exactly one of the two', () => {
  for (const as of ['device', 'server'] as const) {
    assert.equal(parseLinkMessage(joinMessage, { ...join, as }).as, as);
    assert.equal(parseLinkMessage(firstMessage, { ...join, as }).t, 'join');
  }
  for (const as of [undefined, '', 'Server', 'SERVER', ' server', 'server ', 'relay', 1, true, null, ['server'], { kind: 'server' }]) {
    const msg = as === undefined ? join : { ...join, as };
    assert.throws(() => parseLinkMessage(joinMessage, msg), (e: unknown) => isSealsyncError(e, 'ERR_PROTOCOL') && /as/.test((e as Error).message), JSON.stringify(as) ?? 'missing');
    assert.throws(() => parseLinkMessage(firstMessage, msg), (e: unknown) => isSealsyncError(e, 'ERR_PROTOCOL'));
  }
  assert.throws(() => parseLinkMessage(joinMessage, { ...join, as: 'server', kind: 'server' }), (e: unknown) => isSealsyncError(e, 'ERR_PROTOCOL'), 'no unknown fields');
});

test('wrong-kind is a refusal a joiner understands, with a one-line message that says what to do', () => {
  assert.deepEqual(parseLinkMessage(joinAnswer, { t: 'refused', reason: 'wrong-kind' }), { t: 'refused', reason: 'wrong-kind' });
  assert.ok(refusalReasonSchema.options.includes('wrong-kind'));
  const e = refusal('wrong-kind');
  assert.equal(e.code, 'ERR_INVITE_REFUSED');
  assert.equal(e.data?.['reason'], 'wrong-kind');
  assert.doesNotMatch(e.message, /\n/);
  assert.match(e.message, /sealsync device invite --server PATH/);
  for (const reason of Object.keys(REFUSAL_MESSAGES)) assert.ok(refusalReasonSchema.options.includes(reason as never), `${reason} is on the wire`);
});

test('the kind of an invite is known before it is used, and looking does not consume it', () => {
  const book = new InviteBook(() => 1000);
  const device = book.create({ kind: 'device' }).invite;
  const server = book.create({ kind: 'server', folders: ['/a'] }).invite;
  assert.equal(book.kindOf(device.id), 'device');
  assert.equal(book.kindOf(server.id), 'server');
  assert.equal(book.kindOf('00'.repeat(16)), null);
  assert.ok(book.secretFor(device.id) instanceof Uint8Array, 'still usable');
  assert.equal(book.list().find((i) => i.id === device.id)?.state, 'pending');
});

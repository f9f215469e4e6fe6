import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isSealsyncError } from '../errors.js';
import {
  formatInviteCode, inviteIdOf, inviteLink, inviteProof, newInviteSecret, parseInviteCode, verifyInviteProof, type InviteCode,
} from './invite.js';

const code: InviteCode = {
  deviceId: new Uint8Array(32).fill(3),
  secret: new Uint8Array(32).fill(9),
  addresses: [{ host: '192.168.1.20', port: 22000 }, { host: '::1', port: 1 }, { host: 'nas.local', port: 65535 }],
};

test('an invite code round-trips through text and link, in any case and grouping', () => {
  const text = formatInviteCode(code);
  assert.match(text, /^I[A-Z2-7]+$/);
  assert.deepEqual(parseInviteCode(text), code);
  assert.deepEqual(parseInviteCode(text.toLowerCase()), code);
  assert.deepEqual(parseInviteCode(` ${text.match(/.{1,5}/g)?.join('-')}\n`), code);
  assert.deepEqual(parseInviteCode(inviteLink(code)), code);
  assert.deepEqual(parseInviteCode(formatInviteCode({ ...code, addresses: [] })), { ...code, addresses: [] });
});

test('every altered character, truncation or wrong input is one ERR_INVITE_CODE line that never echoes the code', () => {
  const text = formatInviteCode(code);
  const refuse = (input: unknown, why: string): void => {
    assert.throws(() => parseInviteCode(input), (e) => isSealsyncError(e, 'ERR_INVITE_CODE') && !e.message.includes('\n')
      && (typeof input !== 'string' || input.length < 20 || !e.message.includes(input.slice(1, 20))), why);
  };
  for (let i = 1; i < text.length; i++) {
    const ch = text[i] === 'A' ? 'B' : 'A';
    refuse(text.slice(0, i) + ch + text.slice(i + 1), `changed character ${i}`);
  }
  for (const cut of [1, 5, 7, text.length - 1]) refuse(text.slice(0, cut), `cut at ${cut}`);
  refuse(`${text}A`, 'one more character');
  refuse('', 'empty'); refuse('   ', 'blank'); refuse(42, 'a number'); refuse(null, 'null');
  refuse(`W${text.slice(1)}`, 'a key letter');
  refuse(`sealsync://join?key=${text}`, 'a folder key link');
  refuse(`${text}!`, 'a foreign character');
  refuse('I'.repeat(5000), 'far too long');
});

test('the invite id is public, stable, and not the secret', () => {
  const s = newInviteSecret();
  assert.equal(inviteIdOf(s), inviteIdOf(new Uint8Array(s)));
  assert.notEqual(inviteIdOf(s), inviteIdOf(newInviteSecret()));
  assert.ok(!inviteIdOf(s).includes(Buffer.from(s).toString('hex').slice(0, 8)));
});

test('proofs are bound to the secret, the session, both device ids and the direction', () => {
  const secret = newInviteSecret();
  const exporter = new Uint8Array(randomBytes(32));
  const a = new Uint8Array(32).fill(1);
  const c = new Uint8Array(32).fill(2);
  const p = inviteProof(secret, exporter, a, c, 'joiner');
  assert.ok(verifyInviteProof(secret, exporter, a, c, 'joiner', p));
  assert.ok(!verifyInviteProof(secret, exporter, a, c, 'inviter', p), 'reflected');
  assert.ok(!verifyInviteProof(newInviteSecret(), exporter, a, c, 'joiner', p), 'another secret');
  assert.ok(!verifyInviteProof(secret, new Uint8Array(randomBytes(32)), a, c, 'joiner', p), 'another session');
  assert.ok(!verifyInviteProof(secret, exporter, a, new Uint8Array(32).fill(5), 'joiner', p), 'relayed for another device');
  assert.ok(!verifyInviteProof(secret, exporter, a, c, 'joiner', p.subarray(0, 31)), 'short');
});

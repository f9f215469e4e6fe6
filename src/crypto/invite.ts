/**
 * Device invite codes and the proofs that go with them (docs/security.md,
 * "Linking a device"). Pure.
 *
 * A code carries what a new device needs to reach the inviter and prove it
 * was invited: the inviter's device id (so the joiner pins it), a few
 * addresses (hints), and a one-time secret of 32 random bytes.
 *
 *   body = u8 version | deviceId[32] | secret[32] | u8 count | count × (u8 len | host ASCII | u16 port)
 *   text = "I" + base32(body) + 6 check characters (checksum.ts, over the letter too)
 *   link = sealsync://invite?code=<text>
 *
 * The check characters catch every single changed character; a code altered
 * on purpose (checksum recomputed) names another device (the pinned TLS dial
 * fails) or another secret (the proof fails): never a silent success.
 *
 * The secret never travels after the code: the joiner proves it holds it with
 *   HMAC(K, label | direction | exporter | inviter id | joiner id),  K = HKDF(secret, "sealsync/v1/invite-proof")
 * bound to this TLS session (the exporter) and both device ids, per direction,
 * so a proof cannot be replayed, reflected or relayed to another device. The
 * inviter finds the invite by `inviteId` = HKDF(secret, "sealsync/v1/invite-id"),
 * which reveals nothing about the secret.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { base32Symbol, bytesToSymbols, symbolsToBytes, symbolsToText } from './base32.js';
import { checksumSymbols, checksumValid, CHECKSUM_SYMBOLS } from './checksum.js';
import { bytesEqual, concatBytes, toHex, utf8 } from './bytes.js';
import { DEVICE_ID_BYTES } from './device-id.js';
import { MIN_EXPORTER_BYTES } from './access-proof.js';
import { MAX_HOST_LENGTH, MAX_PORT } from '../model/net-address.js';

export const INVITE_CODE_VERSION = 1;
export const INVITE_SECRET_BYTES = 32;
export const INVITE_PROOF_BYTES = 32;
export const INVITE_ID_BYTES = 16;
export const MAX_INVITE_ADDRESSES = 8;
/** Longest input looked at: a link to a code with every address at its longest. */
export const MAX_INVITE_TEXT_LENGTH = 4096;
const LETTER = 'I';
const LINK_PREFIX = 'sealsync://invite?code=';
const ID_INFO = utf8.encode('sealsync/v1/invite-id');
const PROOF_INFO = utf8.encode('sealsync/v1/invite-proof');
const PROOF_LABEL = utf8.encode('sealsync/v1/invite-join\0');
const DIRECTION_BYTE = { joiner: 1, inviter: 2 } as const;

export interface InviteAddress {
  readonly host: string;
  readonly port: number;
}

export interface InviteCode {
  /** The inviter's device id (32-byte certificate hash). */
  readonly deviceId: Uint8Array;
  readonly secret: Uint8Array;
  readonly addresses: readonly InviteAddress[];
}

export function newInviteSecret(): Uint8Array {
  return new Uint8Array(randomBytes(INVITE_SECRET_BYTES));
}

function bad(message: string): SealsyncError {
  return new SealsyncError('ERR_INVITE_CODE', message);
}

function encodeBody(code: InviteCode): Uint8Array {
  if (code.deviceId.byteLength !== DEVICE_ID_BYTES || code.secret.byteLength !== INVITE_SECRET_BYTES) throw bad('invite fields have the wrong length');
  if (code.addresses.length > MAX_INVITE_ADDRESSES) throw bad(`at most ${MAX_INVITE_ADDRESSES} addresses in an invite`);
  const parts: Uint8Array[] = [Uint8Array.of(INVITE_CODE_VERSION), code.deviceId, code.secret, Uint8Array.of(code.addresses.length)];
  for (const a of code.addresses) {
    const host = utf8.encode(a.host);
    if (host.byteLength === 0 || host.byteLength > MAX_HOST_LENGTH || !/^[\x21-\x7e]+$/.test(a.host)) throw bad('invalid host in an invite');
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > MAX_PORT) throw bad('invalid port in an invite');
    parts.push(Uint8Array.of(host.byteLength), host, Uint8Array.of(a.port >> 8, a.port & 0xff));
  }
  return concatBytes(parts);
}

function decodeBody(body: Uint8Array): InviteCode {
  let off = 0;
  const take = (n: number): Uint8Array => {
    if (off + n > body.byteLength) throw bad('the invite code is cut short');
    const out = body.subarray(off, off + n);
    off += n;
    return out;
  };
  const version = take(1)[0];
  if (version !== INVITE_CODE_VERSION) throw bad(`unsupported invite code version ${version ?? '?'}`);
  const deviceId = new Uint8Array(take(DEVICE_ID_BYTES));
  const secret = new Uint8Array(take(INVITE_SECRET_BYTES));
  const count = take(1)[0] as number;
  if (count > MAX_INVITE_ADDRESSES) throw bad('too many addresses in the invite code');
  const addresses: InviteAddress[] = [];
  for (let i = 0; i < count; i++) {
    const len = take(1)[0] as number;
    if (len === 0) throw bad('empty host in the invite code');
    const host = Buffer.from(take(len)).toString('latin1');
    if (!/^[\x21-\x7e]+$/.test(host)) throw bad('invalid host in the invite code');
    const p = take(2);
    const port = ((p[0] as number) << 8) | (p[1] as number);
    if (port === 0) throw bad('invalid port in the invite code');
    addresses.push({ host, port });
  }
  if (off !== body.byteLength) throw bad('the invite code has trailing data');
  return { deviceId, secret, addresses };
}

/** The code's text form (a secret: shown to the user who asked for it, never logged). */
export function formatInviteCode(code: InviteCode): string {
  const symbols = [base32Symbol(LETTER) as number, ...bytesToSymbols(encodeBody(code))];
  return symbolsToText([...symbols, ...checksumSymbols(symbols)]);
}

export function inviteLink(code: InviteCode): string {
  return `${LINK_PREFIX}${formatInviteCode(code)}`;
}

/**
 * Parses code text or a sealsync://invite link; ERR_INVITE_CODE with a
 * one-line reason that never repeats the input (it holds the secret).
 */
export function parseInviteCode(input: unknown): InviteCode {
  if (typeof input !== 'string' || input.trim() === '') throw bad('the invite code is empty');
  if (input.length > MAX_INVITE_TEXT_LENGTH) throw bad('the invite code is far too long');
  let text = input.trim();
  if (/^sealsync:/i.test(text)) {
    if (!text.toLowerCase().startsWith(LINK_PREFIX)) throw bad('not a sealsync://invite?code=… link');
    text = text.slice(LINK_PREFIX.length);
  }
  const compact = text.replace(/[\s-]+/g, '');
  if (compact[0]?.toUpperCase() !== LETTER) {
    throw bad(/^[WRE]/i.test(compact) ? 'that is a folder key, not an invite code (use `sealsync folder add PATH --key -`)' : 'an invite code starts with I');
  }
  const symbols: number[] = [];
  for (const ch of compact) {
    const s = base32Symbol(ch);
    if (s === undefined) throw bad('the invite code contains a character that is not one of A-Z, 2-7');
    symbols.push(s);
  }
  if (symbols.length < 1 + CHECKSUM_SYMBOLS + 1) throw bad('the invite code is cut short');
  if (!checksumValid(symbols)) throw bad('the invite code check characters do not match (mistyped or altered?)');
  const data = symbols.slice(1, symbols.length - CHECKSUM_SYMBOLS);
  const byteLength = Math.floor((data.length * 5) / 8);
  const body = symbolsToBytes(data, byteLength);
  if (!body) throw bad('the invite code is not canonical');
  return decodeBody(body);
}

function hkdf(secret: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), info, length));
}

/** The public handle of an invite (hex): how the inviter finds it without the secret travelling. */
export function inviteIdOf(secret: Uint8Array): string {
  return toHex(hkdf(secret, ID_INFO, INVITE_ID_BYTES));
}

/** Proof of holding the invite secret, bound to this TLS session (exporter) and both device ids, per direction. */
export function inviteProof(
  secret: Uint8Array, exporter: Uint8Array, inviterId: Uint8Array, joinerId: Uint8Array, direction: 'joiner' | 'inviter',
): Uint8Array {
  if (exporter.byteLength < MIN_EXPORTER_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'TLS exporter value is too short');
  if (inviterId.byteLength !== DEVICE_ID_BYTES || joinerId.byteLength !== DEVICE_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'device ids must be 32 bytes');
  return new Uint8Array(createHmac('sha256', hkdf(secret, PROOF_INFO, 32))
    .update(PROOF_LABEL).update(Uint8Array.of(DIRECTION_BYTE[direction])).update(exporter).update(inviterId).update(joinerId)
    .digest());
}

/** Constant-time check of a received proof. */
export function verifyInviteProof(
  secret: Uint8Array, exporter: Uint8Array, inviterId: Uint8Array, joinerId: Uint8Array, direction: 'joiner' | 'inviter', proof: Uint8Array,
): boolean {
  return bytesEqual(inviteProof(secret, exporter, inviterId, joinerId, direction), proof);
}

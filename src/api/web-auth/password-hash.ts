/**
 * Dashboard password hashing with scrypt. Only the self-describing string
 * `scrypt$N$r$p$salt$hash` (salt and hash in base64url) is ever stored; the
 * plaintext lives only as long as the request that carried it.
 *
 * Parameters read back from a stored hash are bounded, so a tampered config
 * cannot make a login attempt allocate gigabytes or spin for minutes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SealsyncError } from '../../errors.js';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_BYTES = 1024;
/** 2^15 with r = 8 costs 32 MiB and roughly 100 ms: slow for a guesser, fine for a login. */
export const SCRYPT_N = 32768;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SCRYPT_SALT_BYTES = 16;
export const SCRYPT_HASH_BYTES = 32;
/** Upper bounds accepted when verifying a stored hash. */
export const MAX_SCRYPT_N = 1 << 20;
export const MAX_SCRYPT_R = 32;
export const MAX_SCRYPT_P = 16;
const MAX_STORED_HASH_LENGTH = 512;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

const DEFAULT_PARAMS: ScryptParams = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P };

/** Throws ERR_PASSWORD when the password is empty, too short or too long. */
export function validateNewPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new SealsyncError('ERR_PASSWORD', 'password is empty');
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new SealsyncError('ERR_PASSWORD', `password is too short (at least ${MIN_PASSWORD_LENGTH} characters)`);
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new SealsyncError('ERR_PASSWORD', `password is too long (at most ${MAX_PASSWORD_BYTES} bytes)`);
  }
  return password;
}

function scryptAsync(password: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  // maxmem must exceed 128 * N * r or node refuses the parameters.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a (validated) password into the stored form. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  validateNewPassword(password);
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const hash = await scryptAsync(password, salt, SCRYPT_HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface ParsedHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function parseBoundedInt(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,8}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** Parses a stored hash; null when it is not a well-formed, bounded scrypt hash. */
export function parseStoredHash(stored: string): ParsedHash | null {
  if (stored.length > MAX_STORED_HASH_LENGTH) return null;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const N = parseBoundedInt(parts[1], MAX_SCRYPT_N);
  const r = parseBoundedInt(parts[2], MAX_SCRYPT_R);
  const p = parseBoundedInt(parts[3], MAX_SCRYPT_P);
  if (N === null || r === null || p === null || N < 2 || (N & (N - 1)) !== 0) return null;
  const b64url = /^[A-Za-z0-9_-]+$/;
  if (!b64url.test(parts[4] ?? '') || !b64url.test(parts[5] ?? '')) return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const hash = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

/** True when the password matches the stored hash. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || password.length === 0 || Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return false;
  }
  const parsed = parseStoredHash(stored);
  if (!parsed) return false;
  const candidate = await scryptAsync(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

/**
 * One-time login tokens for `sealsync ui`: 32 random bytes, valid for two
 * minutes, usable once. Only their digests are kept, so a heap dump of a
 * running daemon does not reveal a usable token.
 */
import { randomBytes } from 'node:crypto';
import { secretDigest } from './timing-safe.js';

export const LOGIN_TOKEN_BYTES = 32;
export const LOGIN_TOKEN_TTL_MS = 2 * 60 * 1000;
/** Issuing more than this many unused tokens drops the oldest. */
export const MAX_OUTSTANDING_LOGIN_TOKENS = 16;
const MAX_TOKEN_TEXT_LENGTH = 128;

export interface IssuedLoginToken {
  readonly token: string;
  readonly expiresAt: number;
}

export class LoginTokens {
  readonly #now: () => number;
  /** digest -> expiry time; insertion order is issue order. */
  readonly #tokens = new Map<string, number>();

  constructor(deps: { now?: () => number } = {}) {
    this.#now = deps.now ?? Date.now;
  }

  issue(): IssuedLoginToken {
    this.#prune();
    while (this.#tokens.size >= MAX_OUTSTANDING_LOGIN_TOKENS) {
      const oldest = this.#tokens.keys().next();
      if (oldest.done) break;
      this.#tokens.delete(oldest.value);
    }
    const token = randomBytes(LOGIN_TOKEN_BYTES).toString('base64url');
    const expiresAt = this.#now() + LOGIN_TOKEN_TTL_MS;
    this.#tokens.set(secretDigest(token), expiresAt);
    return { token, expiresAt };
  }

  /** True exactly once for a token that was issued and has not expired. */
  consume(token: unknown): boolean {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_TEXT_LENGTH) return false;
    const key = secretDigest(token);
    const expiresAt = this.#tokens.get(key);
    if (expiresAt === undefined) return false;
    this.#tokens.delete(key);
    return this.#now() < expiresAt;
  }

  get outstanding(): number {
    this.#prune();
    return this.#tokens.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, expiresAt] of this.#tokens) if (now >= expiresAt) this.#tokens.delete(key);
  }
}

/**
 * Everything the dashboard needs to decide who is logged in: one-time login
 * tokens, sessions, the login throttle and the password hash. The daemon
 * creates one AuthStore, hands it to the WebServer, and answers
 * `sealsync ui` / `sealsync passwd` from it over the control socket.
 *
 * The password hash lives in the daemon's config; the store reads and writes
 * it through `PasswordHashStore` so it never caches a stale copy.
 */
import { LoginTokens, type IssuedLoginToken } from './login-tokens.js';
import { SessionStore } from './sessions.js';
import { LoginThrottle, type Sleep } from './login-throttle.js';
import { hashPassword, verifyPassword, validateNewPassword } from './password-hash.js';

export interface PasswordHashStore {
  /** The stored `scrypt$…` string, or null when no password is set. */
  get(): string | null;
  /** Persists a new hash (atomically, 0600). */
  set(hash: string): Promise<void>;
}

/** A PasswordHashStore kept in memory (tests, or a daemon without a config file). */
export function memoryPasswordStore(initial: string | null = null): PasswordHashStore {
  let hash = initial;
  return { get: () => hash, set: async (h) => { hash = h; } };
}

export class AuthStore {
  readonly tokens: LoginTokens;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  readonly #passwords: PasswordHashStore;

  constructor(deps: { passwords: PasswordHashStore; now?: () => number; sleep?: Sleep }) {
    this.#passwords = deps.passwords;
    this.tokens = new LoginTokens({ now: deps.now });
    this.sessions = new SessionStore({ now: deps.now });
    this.throttle = new LoginThrottle({ now: deps.now, sleep: deps.sleep });
  }

  issueLoginToken(): IssuedLoginToken {
    return this.tokens.issue();
  }

  hasPassword(): boolean {
    return this.#passwords.get() !== null;
  }

  async checkPassword(password: unknown): Promise<boolean> {
    const stored = this.#passwords.get();
    if (stored === null || typeof password !== 'string') return false;
    return verifyPassword(password, stored);
  }

  /** Validates (ERR_PASSWORD), hashes and stores a new password, then logs every session out. */
  async setPassword(password: unknown): Promise<void> {
    const valid = validateNewPassword(password);
    await this.#passwords.set(await hashPassword(valid));
    this.sessions.clear();
  }
}

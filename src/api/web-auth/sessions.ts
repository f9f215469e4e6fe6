/**
 * Dashboard sessions: a random 32-byte id in an HttpOnly cookie, a per-session
 * CSRF token the page sends back in a header, and two expiries (idle and
 * absolute). Sessions live in memory only: restarting the daemon logs
 * everyone out, which is the safe direction.
 */
import { randomBytes } from 'node:crypto';
import { secretDigest } from './timing-safe.js';

export const SESSION_ID_BYTES = 32;
export const CSRF_TOKEN_BYTES = 32;
export const SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** More live sessions than this evicts the least recently used. */
export const MAX_SESSIONS = 64;
const MAX_SESSION_ID_LENGTH = 128;

export interface Session {
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface CreatedSession {
  /** The cookie value. Only the client keeps it; the store keeps its digest. */
  readonly id: string;
  readonly session: Session;
}

export class SessionStore {
  readonly #now: () => number;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  /** digest(id) -> session; Map order doubles as LRU order (touch = re-insert). */
  readonly #sessions = new Map<string, Session>();

  constructor(deps: { now?: () => number; idleMs?: number; absoluteMs?: number } = {}) {
    this.#now = deps.now ?? Date.now;
    this.#idleMs = deps.idleMs ?? SESSION_IDLE_TIMEOUT_MS;
    this.#absoluteMs = deps.absoluteMs ?? SESSION_ABSOLUTE_TIMEOUT_MS;
  }

  create(): CreatedSession {
    this.#prune();
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done) break;
      this.#sessions.delete(oldest.value);
    }
    const id = randomBytes(SESSION_ID_BYTES).toString('base64url');
    const now = this.#now();
    const session: Session = { csrfToken: randomBytes(CSRF_TOKEN_BYTES).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.#sessions.set(secretDigest(id), session);
    return { id, session };
  }

  /** The live session for a cookie value (and marks it used), or undefined. */
  get(id: unknown): Session | undefined {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SESSION_ID_LENGTH) return undefined;
    const key = secretDigest(id);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastSeenAt >= this.#idleMs || now - session.createdAt >= this.#absoluteMs) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    return session;
  }

  destroy(id: unknown): void {
    if (typeof id === 'string' && id.length > 0 && id.length <= MAX_SESSION_ID_LENGTH) this.#sessions.delete(secretDigest(id));
  }

  /** Logs every session out (password change, `sealsync ui --logout-all`); returns how many were live. */
  clear(): number {
    this.#prune();
    const live = this.#sessions.size;
    this.#sessions.clear();
    return live;
  }

  get size(): number {
    this.#prune();
    return this.#sessions.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, s] of this.#sessions) {
      if (now - s.lastSeenAt >= this.#idleMs || now - s.createdAt >= this.#absoluteMs) this.#sessions.delete(key);
    }
  }
}

/** Constant-time comparison of two secret strings (CSRF tokens, login tokens). */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares by SHA-256 digest so that neither the content nor the length of the
 * expected value leaks through timing. Non-strings and empty strings never match.
 */
export function safeEqualStrings(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0 || b.length === 0) return false;
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** The map key under which a secret is remembered: its digest, never the secret itself. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

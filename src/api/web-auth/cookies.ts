/** Minimal, strict cookie handling for the one session cookie the dashboard sets. */
import { SealsyncError } from '../../errors.js';

export const MAX_COOKIE_HEADER_LENGTH = 8192;

/** The value of cookie `name` in a Cookie header, or undefined. Duplicates: the first wins. */
export function readCookie(header: unknown, name: string): string | undefined {
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER_LENGTH) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface SessionCookieOptions {
  readonly name: string;
  readonly secure: boolean;
  /** Omitted: a browser-session cookie. 0 deletes it. */
  readonly maxAgeS?: number;
}

/** A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/, Secure on HTTPS. Values are base64url. */
export function sessionCookie(value: string, opts: SessionCookieOptions): string {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'cookie value must be base64url');
  const parts = [`${opts.name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  if (opts.maxAgeS !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAgeS))}`);
  return parts.join('; ');
}

/**
 * Cookies are shared by every port of a host, so two daemons on 127.0.0.1
 * would overwrite each other's sessions: the name carries the port. On HTTPS
 * the `__Host-` prefix makes the browser refuse any Domain or non-Secure copy.
 */
export function sessionCookieName(port: number, secure: boolean): string {
  return `${secure ? '__Host-' : ''}sealsync_session_${port}`;
}

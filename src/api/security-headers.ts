/**
 * Response headers every dashboard response carries. The CSP allows only our
 * own scripts, styles and connections, no inline code, no framing: even if a
 * peer-controlled string slipped into the page as markup it could not run.
 */
import type { ServerResponse } from 'node:http';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Sets the headers on the raw response so they survive routes that write the
 * response themselves (Server-Sent Events). `noStore` for API and login responses.
 */
export function applySecurityHeaders(res: ServerResponse, opts: { noStore: boolean; hsts?: boolean }): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  if (opts.noStore) res.setHeader('cache-control', 'no-store');
  if (opts.hsts) res.setHeader('strict-transport-security', 'max-age=31536000');
}

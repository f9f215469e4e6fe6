/**
 * One spelling per path. The router (find-my-way) decodes percent-escapes and
 * the HTTP layer may fold `.`/`..`, so `/%61pi/folders` and `/api/folders`
 * reach the same handler: any check that reads the raw URL and any check that
 * reads the matched route could disagree. Here the raw request target must
 * already be the one canonical spelling, or the request is refused before
 * routing matters (ERR_PATH_NOT_CANONICAL, 400):
 *
 * - origin-form only (`/…`; no `http://host/…`, no `*`);
 * - segments of unreserved characters only (`A-Z a-z 0-9 - _ . ~`): no
 *   percent-escape of any kind (so no double encoding, no `%00`, no `%2F`),
 *   no `;` parameters, no backslash, no `#`;
 * - no empty segment (`//`, trailing `/`; the root `/` itself is fine) and no
 *   segment that starts with `.` (`.`, `..`, dotfiles: none is ever served);
 * - once routed, a route without parameters must be exactly the raw path
 *   (belt and braces over the rules above: the router may fold what they allow).
 *
 * Case is left to the router, which is case-sensitive: `/API/folders` matches
 * no API route. The query string is not part of the path and is left to the
 * route's own validation.
 *
 * Both the dashboard and the control socket install this as their first
 * onRequest hook, so it covers every route and the not-found handler alike.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SealsyncError } from '../errors.js';

/** Longest request path accepted (the API's and the web app's paths are far shorter). */
export const MAX_REQUEST_PATH_LENGTH = 1024;

const SEGMENT = '[A-Za-z0-9_~-][A-Za-z0-9._~-]*';
const CANONICAL_PATH = new RegExp(`^(?:/|(?:/${SEGMENT})+)$`);

/** The path part (before `?`) of a raw request target. */
export function rawPathOf(rawUrl: string | undefined): string {
  const url = rawUrl ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** True when the raw path is the one canonical spelling (see the module header). */
export function isCanonicalPath(path: string): boolean {
  return path.length <= MAX_REQUEST_PATH_LENGTH && CANONICAL_PATH.test(path);
}

/** True when the matched route has no parameters or wildcard, i.e. one exact spelling. */
function isLiteralRoute(url: string): boolean {
  return !url.includes('*') && !url.includes(':');
}

/** Why a request's path is refused, or null when it is canonical and matches its route. */
export function nonCanonicalReason(request: FastifyRequest): string | null {
  const path = rawPathOf(request.raw.url);
  if (!isCanonicalPath(path)) return 'the request path is not in canonical form (plain /segments of A-Z a-z 0-9 - _ . ~, no escapes)';
  const route = request.routeOptions.url;
  if (route !== undefined && isLiteralRoute(route) && route !== path) return 'the request path does not spell its route exactly';
  return null;
}

/** Adds the refusal as an onRequest hook; call before any route is registered. */
export function refuseNonCanonicalPaths(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const reason = nonCanonicalReason(request);
    if (reason === null) return;
    const err = new SealsyncError('ERR_PATH_NOT_CANONICAL', reason);
    return reply.code(err.status).type('application/json; charset=utf-8').send({ error: err.toJSON() });
  });
}

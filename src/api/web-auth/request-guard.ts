/**
 * The dashboard's request guard: one onRequest hook on the root of the web
 * server, so it runs for every route in the table (the REST plugin's routes
 * included) and for the not-found handler, before any body is read.
 *
 * It decides from the route the router MATCHED, never from the URL text: a
 * route declares `config.access`, and a route that declares nothing needs a
 * session and, for POST/PUT/PATCH/DELETE, the session's CSRF token. So a new
 * route is protected by default, and no spelling of a path can reach a
 * handler that the guard judged as something else. Spellings are refused
 * outright anyway (canonical-path.ts).
 *
 * Order: security headers (so rejections carry them) -> canonical path (400)
 * -> Host (421, DNS rebinding) -> Origin (403) -> access of the matched route:
 *   - 'page': the web app's pages and static files; anyone may load them, from
 *     anywhere (a link from another site opens the dashboard), but never a
 *     path under /api in any case;
 *   - 'public': POST /api/login and GET /login; no session, but not cross-site;
 *   - 'session' (the default): a live session cookie (401), not cross-site
 *     (403), and the CSRF token in `X-CSRF-Token` for unsafe methods (403).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { SealsyncError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { nonCanonicalReason, rawPathOf } from '../canonical-path.js';
import { applySecurityHeaders } from '../security-headers.js';
import { isAllowedHost, isAllowedOrigin } from './host-origin.js';
import type { Session } from './sessions.js';
import { safeEqualStrings } from './timing-safe.js';

export type RouteAccess = 'session' | 'public' | 'page';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route on the dashboard (request-guard.ts); absent means 'session'. */
    access?: RouteAccess;
  }
}

/** Route options for the few routes that need no session. */
export const PUBLIC_ROUTE = { config: { access: 'public' as const } };
export const PAGE_ROUTE = { config: { access: 'page' as const } };

const ACCESS_VALUES: ReadonlySet<string> = new Set<RouteAccess>(['session', 'public', 'page']);
const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that exist only on the control socket (token minting, password, logout-all). */
const CONTROL_ONLY_PREFIX = '/api/ui';
const API_NAMESPACE = /^\/api(?:\/|$)/i;

export interface GuardState {
  /** Filled in once the port is known (port 0): read per request. */
  allowedHosts: ReadonlySet<string>;
}

export interface RequestGuardDeps {
  readonly scheme: 'http' | 'https';
  readonly state: GuardState;
  readonly sessionOf: (request: FastifyRequest) => Session | null;
  readonly log: Logger;
}

export function sendError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  const err = new SealsyncError(code, message);
  return reply.code(err.status).type('application/json; charset=utf-8').send({ error: err.toJSON() });
}

/** The access rule of the matched route; an unmatched request (404) runs no route handler and is treated as a page. */
export function accessOf(request: FastifyRequest): RouteAccess {
  if (request.is404) return 'page';
  return request.routeOptions.config.access ?? 'session';
}

/** Refuses, when the route table is built, routes the dashboard must never serve or cannot classify. */
function checkRoute(route: RouteOptions): void {
  const url = route.url ?? '';
  if (url === CONTROL_ONLY_PREFIX || url.startsWith(`${CONTROL_ONLY_PREFIX}/`)) {
    throw new SealsyncError('ERR_INTERNAL', `${url} belongs to the control socket only, never to the dashboard`);
  }
  const access = route.config?.access;
  if (access !== undefined && !ACCESS_VALUES.has(access)) {
    throw new SealsyncError('ERR_INTERNAL', `route ${url} has an unknown access rule '${String(access)}'`);
  }
}

/** Installs the guard on the web server's root; call before any route is registered. */
export function installRequestGuard(app: FastifyInstance, deps: RequestGuardDeps): void {
  app.addHook('onRoute', checkRoute);
  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request);
    applySecurityHeaders(reply.raw, { noStore: access !== 'page' || rawPathOf(request.raw.url) === '/login', hsts: deps.scheme === 'https' });
    const notCanonical = nonCanonicalReason(request);
    if (notCanonical !== null) return sendError(reply, 'ERR_PATH_NOT_CANONICAL', notCanonical);
    const host = request.headers.host;
    if (!isAllowedHost(host, deps.state.allowedHosts)) {
      deps.log.warn({ host: String(host ?? '').slice(0, 100), source: request.ip }, 'dashboard request with a foreign Host refused');
      return sendError(reply, 'ERR_HOST');
    }
    if (!isAllowedOrigin(request.headers.origin, deps.scheme, host as string)) return sendError(reply, 'ERR_ORIGIN');
    if (access === 'page') {
      // A page never answers under /api (whatever the case): API names belong to API routes.
      if (API_NAMESPACE.test(rawPathOf(request.raw.url))) return sendError(reply, 'ERR_NOT_FOUND', 'no such API route');
      return;
    }
    if (request.headers['sec-fetch-site'] === 'cross-site') return sendError(reply, 'ERR_ORIGIN');
    if (access === 'public') return;
    const session = deps.sessionOf(request);
    if (!session) return sendError(reply, 'ERR_UNAUTHORIZED');
    if (UNSAFE_METHODS.has(request.method) && !safeEqualStrings(request.headers['x-csrf-token'], session.csrfToken)) {
      return sendError(reply, 'ERR_CSRF');
    }
  });
}

/**
 * The route table of a Fastify app as Fastify registers it (every method of
 * every route, the HEAD routes it adds for GETs included), so tests and
 * guards work from the table that serves requests rather than from a list
 * kept by hand.
 */
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** The route's declared dashboard access rule (request-guard.ts), if any. */
  readonly access?: string;
}

/** Starts recording `app`'s routes; call before any route is registered. Returns a reader. */
export function trackRoutes(app: FastifyInstance): () => readonly RouteEntry[] {
  const rows: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = route.config?.access;
    for (const method of methods) rows.push({ method, url: route.url ?? '', ...(access !== undefined ? { access } : {}) });
  });
  return () => [...rows];
}

/**
 * The dashboard's HTTP(S) server: the same REST routes the CLI uses over the
 * control socket, plus the built web app, behind a session login.
 *
 * Every request passes the request guard (web-auth/request-guard.ts) before
 * any body is read: security headers, one canonical spelling of the path,
 * `Host` (DNS rebinding), `Origin`, and then the access rule of the route the
 * router matched: a session for every route that does not declare itself a
 * page or public, and the session's CSRF token for POST/PATCH/PUT/DELETE.
 * `/api/ui/*` (token minting, password, logout-all) exists only on the
 * control socket; the guard refuses to build a table that contains it.
 * Errors are `{ error: SealsyncError.toJSON() }`, as on the control socket.
 *
 * Safe by default: loopback unless the user binds elsewhere, and then only
 * with HTTPS and a password (ERR_UI_UNSAFE_LISTEN otherwise). No default
 * password: the first login is a one-time URL from `sealsync ui`, which logs
 * in whatever the login throttle says (the token is 256 random bits, and a
 * local user failing passwords on purpose must not lock the owner out).
 */
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DaemonApi } from './daemon-api.js';
import type { Logger } from '../logger.js';
import { SealsyncError, isSealsyncError, listenFailure } from '../errors.js';
import { AuthStore } from './web-auth/auth-store.js';
import { readCookie, sessionCookie, sessionCookieName } from './web-auth/cookies.js';
import { SESSION_ABSOLUTE_TIMEOUT_MS, type Session } from './web-auth/sessions.js';
import { MAX_PASSWORD_BYTES } from './web-auth/password-hash.js';
import {
  allowedHostHeaders, hostPort, isLoopbackHost, isWildcardHost, parseListenAddress, type ListenAddress,
} from './web-auth/host-origin.js';
import { PAGE_ROUTE, PUBLIC_ROUTE, installRequestGuard, sendError } from './web-auth/request-guard.js';
import { trackRoutes, type RouteEntry } from './route-table.js';
import { rawPathOf } from './canonical-path.js';
import { StaticFiles } from './web-static.js';
import { loadOrCreateSelfSigned, type TlsMaterial } from './web-tls.js';
import { formatKey, keysFromSecret, newFolderSecret } from '../crypto/index.js';

export const WEB_BODY_LIMIT_BYTES = 64 * 1024;
export const WEB_REQUEST_TIMEOUT_MS = 30_000;
/** Pages that are the web app itself (client-side views). */
const APP_PAGES = new Set(['/', '/login', '/index.html']);

export type RouteRegistrar = (app: FastifyInstance, api: DaemonApi) => void | Promise<void>;

export interface WebServerDeps {
  readonly api: DaemonApi;
  readonly logger: Logger;
  readonly authStore: AuthStore;
  /** The REST routes (src/api/routes.ts `registerApiRoutes`), the same plugin the control socket serves. */
  readonly registerRoutes: RouteRegistrar;
  /** Creates a new read-write folder key (for "add folder with a new key"); default: a fresh random W key. */
  readonly newFolderKey?: () => string;
}

export interface WebServerInit {
  /** `HOST:PORT`; port 0 picks a free port. */
  readonly listen: string;
  /** HTTPS with the user's certificate, or a self-signed one kept in the home. */
  readonly https?: TlsMaterial | 'self-signed';
  readonly home: string;
  /** The built web app (web/dist). */
  readonly staticDir: string;
  /** Extra host names accepted in `Host` (remote access through a name). */
  readonly allowedHosts?: readonly string[];
}

interface Bound {
  readonly app: FastifyInstance;
  readonly address: ListenAddress;
  readonly allowedHosts: ReadonlySet<string>;
  readonly scheme: 'http' | 'https';
  readonly cookieName: string;
}

/** Refuses a dashboard address beyond loopback unless HTTPS is on and a password is set. */
export function assertSafeUiListen(listen: string, opts: { https: boolean; passwordSet: boolean }): ListenAddress {
  const address = parseListenAddress(listen);
  if (!isLoopbackHost(address.host) && !(opts.https && opts.passwordSet)) {
    throw new SealsyncError(
      'ERR_UI_UNSAFE_LISTEN',
      `refusing to serve the dashboard on ${listen}: beyond loopback it needs HTTPS and a password (set one with \`sealsync passwd\`), or use an SSH tunnel`,
    );
  }
  return address;
}

const loginBody = z.union([
  z.object({ password: z.string().min(1).max(MAX_PASSWORD_BYTES) }).strict(),
  z.object({ token: z.string().min(1).max(128) }).strict(),
]);
const passwordBody = z.object({
  current: z.string().max(MAX_PASSWORD_BYTES).optional(),
  password: z.string().max(MAX_PASSWORD_BYTES),
}).strict();

export class WebServer {
  readonly #deps: WebServerDeps;
  readonly #init: WebServerInit;
  readonly #log: Logger;
  readonly #static: StaticFiles;
  #bound: Bound | null = null;
  /** Reads the route table as Fastify built it (every method and path the server answers). */
  #routes: () => readonly RouteEntry[] = () => [];
  #stopping: AbortController | null = null;

  constructor(deps: WebServerDeps, init: WebServerInit) {
    this.#deps = deps;
    this.#init = init;
    this.#log = deps.logger.child({ component: 'api:web' });
    this.#static = new StaticFiles(init.staticDir);
    // Validate the address shape now so a typo fails at construction, not at start.
    parseListenAddress(init.listen);
  }

  /** The dashboard's base URL (no trailing slash). Valid after start(). */
  url(): string {
    const b = this.#bound;
    if (!b) throw new SealsyncError('ERR_UI_DISABLED', 'the dashboard is not running');
    const host = b.address.host === 'localhost' || isWildcardHost(b.address.host) ? '127.0.0.1' : b.address.host;
    return `${b.scheme}://${hostPort(host, b.address.port)}`;
  }

  /** A one-time login URL for a freshly issued token (what `sealsync ui` prints). */
  loginUrl(token: string): string {
    return `${this.url()}/login#token=${token}`;
  }

  /** The Fastify instance while running (tests use its inject()). */
  get fastify(): FastifyInstance | null {
    return this.#bound?.app ?? null;
  }

  /** Every route and method of the running server, read from Fastify as it registered them (HEAD included). */
  routes(): readonly RouteEntry[] {
    return this.#routes();
  }

  get running(): boolean {
    return this.#bound !== null;
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#bound) return;
    opts.signal?.throwIfAborted();
    const https = this.#init.https !== undefined;
    const requested = assertSafeUiListen(this.#init.listen, { https, passwordSet: this.#deps.authStore.hasPassword() });
    if (!isLoopbackHost(requested.host)) {
      this.#log.warn({ listen: this.#init.listen }, 'dashboard listens beyond loopback (HTTPS and password login are on); prefer an SSH tunnel');
    }
    let tls: TlsMaterial | undefined;
    if (this.#init.https === 'self-signed') {
      tls = await loadOrCreateSelfSigned(this.#init.home, [requested.host, ...(this.#init.allowedHosts ?? [])]);
    } else {
      tls = this.#init.https;
    }
    const app = (tls
      ? fastify({ https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, ...this.#fastifyOptions() })
      : fastify(this.#fastifyOptions())) as unknown as FastifyInstance;
    this.#stopping = new AbortController();
    const scheme = tls ? 'https' : 'http';
    // Filled in once the port is known (port 0): hooks read it per request.
    const state: { allowedHosts: ReadonlySet<string>; cookieName: string } = { allowedHosts: new Set(), cookieName: '' };
    try {
      this.#installGuards(app, scheme, state);
      await this.#installRoutes(app, scheme, state);
    } catch (err) {
      // A route the guard refuses (web-auth/request-guard.ts): nothing listens yet.
      await app.close().catch(() => undefined);
      throw err;
    }
    try {
      await app.listen({ host: requested.host, port: requested.port });
    } catch (err) {
      await app.close().catch(() => undefined);
      throw listenFailure({
        subject: 'the dashboard',
        address: this.#init.listen,
        hint: 'set another port as "webui.listen" in config.json, or start with --ui-listen',
      }, err);
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : requested.port;
    const address: ListenAddress = { host: requested.host, port };
    state.allowedHosts = allowedHostHeaders(address, this.#init.allowedHosts);
    state.cookieName = sessionCookieName(port, scheme === 'https');
    this.#bound = { app, address, allowedHosts: state.allowedHosts, scheme, cookieName: state.cookieName };
    this.#log.info({ url: this.url() }, 'dashboard listening');
  }

  async stop(): Promise<void> {
    const bound = this.#bound;
    this.#bound = null;
    this.#stopping?.abort();
    this.#stopping = null;
    if (bound) await bound.app.close();
  }

  #fastifyOptions() {
    return {
      logger: false,
      trustProxy: false,
      bodyLimit: WEB_BODY_LIMIT_BYTES,
      requestTimeout: WEB_REQUEST_TIMEOUT_MS,
      // Close long-lived responses (the event stream) on stop so stop() never hangs.
      forceCloseConnections: true,
      return503OnClosing: true,
    } as const;
  }

  #session(request: FastifyRequest, cookieName: string): { id: string; session: Session } | null {
    const id = readCookie(request.headers.cookie, cookieName);
    const session = this.#deps.authStore.sessions.get(id);
    return id !== undefined && session ? { id, session } : null;
  }

  #installGuards(app: FastifyInstance, scheme: 'http' | 'https', state: { allowedHosts: ReadonlySet<string>; cookieName: string }): void {
    this.#routes = trackRoutes(app);
    installRequestGuard(app, {
      scheme,
      state,
      sessionOf: (request) => this.#session(request, state.cookieName)?.session ?? null,
      log: this.#log,
    });

    app.setErrorHandler((err, request, reply) => {
      if (isSealsyncError(err)) return reply.code(err.status).send({ error: err.toJSON() });
      const status = (err as { statusCode?: number }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return reply.code(status).send({ error: new SealsyncError('ERR_INVALID_ARGUMENT', (err as Error).message.slice(0, 200)).toJSON() });
      }
      this.#log.error({ err, path: rawPathOf(request.raw.url).slice(0, 200) }, 'dashboard request failed');
      return reply.code(500).send({ error: new SealsyncError('ERR_INTERNAL').toJSON() });
    });
    // No root not-found handler: the API routes plugin sets its own (Fastify allows one per prefix);
    // unknown GETs fall through to the static catch-all below, which answers 404 itself.
  }

  async #installRoutes(app: FastifyInstance, scheme: 'http' | 'https', state: { cookieName: string }): Promise<void> {
    const auth = this.#deps.authStore;
    const secure = scheme === 'https';
    const cookieMaxAgeS = SESSION_ABSOLUTE_TIMEOUT_MS / 1000;

    const startSession = (reply: FastifyReply): Session => {
      const { id, session } = auth.sessions.create();
      reply.header('set-cookie', sessionCookie(id, { name: state.cookieName, secure, maxAgeS: cookieMaxAgeS }));
      return session;
    };

    const tryLogin = async (request: FastifyRequest, how: 'password' | 'token', secret: string): Promise<'ok' | 'failed' | 'busy'> => {
      // A live one-time token logs in whatever the throttle says: it is 256 random bits minted
      // over the 0600 control socket, so no one guesses it, while the throttle is per address
      // and every local user shares 127.0.0.1. Only a failed token counts as a failure.
      if (how === 'token' && auth.tokens.consume(secret)) {
        this.#log.info({ source: request.ip, how }, 'dashboard login');
        return 'ok';
      }
      const outcome = await auth.throttle.attempt(
        request.ip,
        async () => (how === 'token' ? false : auth.checkPassword(secret)),
        { signal: this.#stopping?.signal },
      );
      if (outcome !== 'ok') {
        this.#log.warn({ source: request.ip, how, outcome, failures: auth.throttle.failures(request.ip) }, 'dashboard login failed');
      } else {
        this.#log.info({ source: request.ip, how }, 'dashboard login');
      }
      return outcome;
    };

    app.post('/api/login', PUBLIC_ROUTE, async (request, reply) => {
      const parsed = loginBody.safeParse(request.body);
      if (!parsed.success) return sendError(reply, 'ERR_INVALID_ARGUMENT', 'expected {"password"} or {"token"}');
      const how = 'token' in parsed.data ? 'token' : 'password';
      const secret = 'token' in parsed.data ? parsed.data.token : parsed.data.password;
      const outcome = await tryLogin(request, how, secret);
      if (outcome === 'busy') return sendError(reply, 'ERR_LOGIN_THROTTLED');
      if (outcome === 'failed') {
        return sendError(reply, 'ERR_LOGIN', how === 'token' ? 'this login link has expired or was already used: run `sealsync ui` again' : 'wrong password');
      }
      const session = startSession(reply);
      return { ok: true, csrfToken: session.csrfToken };
    });

    // `?token=` form of the one-time URL: log in and land on the dashboard.
    app.get('/login', PAGE_ROUTE, async (request, reply) => {
      const token = (request.query as Record<string, unknown>).token;
      if (typeof token === 'string' && token.length > 0 && token.length <= 128) {
        const outcome = await tryLogin(request, 'token', token);
        if (outcome === 'ok') {
          startSession(reply);
          return reply.redirect('/', 303);
        }
        return reply.redirect('/login#expired', 303);
      }
      return this.#sendPage(reply);
    });

    app.get('/api/session', async (request) => {
      const found = this.#session(request, state.cookieName);
      return { csrfToken: found?.session.csrfToken, passwordSet: auth.hasPassword(), https: secure };
    });

    app.post('/api/logout', async (request, reply) => {
      auth.sessions.destroy(readCookie(request.headers.cookie, state.cookieName));
      reply.header('set-cookie', sessionCookie('', { name: state.cookieName, secure, maxAgeS: 0 }));
      return { ok: true };
    });

    app.post('/api/password', async (request, reply) => {
      const parsed = passwordBody.safeParse(request.body);
      if (!parsed.success) return sendError(reply, 'ERR_INVALID_ARGUMENT', 'expected {"password", "current"?}');
      if (auth.hasPassword()) {
        const outcome = await tryLogin(request, 'password', parsed.data.current ?? '');
        if (outcome === 'busy') return sendError(reply, 'ERR_LOGIN_THROTTLED');
        if (outcome === 'failed') return sendError(reply, 'ERR_LOGIN', 'the current password is wrong');
      }
      await auth.setPassword(parsed.data.password);
      this.#log.info({ source: request.ip }, 'dashboard password changed');
      // Changing the password logs every session out; keep this one logged in.
      const session = startSession(reply);
      return { ok: true, csrfToken: session.csrfToken };
    });

    // A fresh W key for "add folder with a new key"; only a logged-in page (with CSRF) can ask.
    const newKey = this.#deps.newFolderKey ?? (() => formatKey(keysFromSecret(newFolderSecret())));
    app.post('/api/keys/new', async () => ({ key: newKey() }));

    await app.register(async (scope) => {
      await this.#deps.registerRoutes(scope, this.#deps.api);
    });

    // Pages and static files (the guard keeps this route away from any path under /api).
    app.get('/*', PAGE_ROUTE, async (request, reply) => {
      const path = rawPathOf(request.raw.url);
      if (APP_PAGES.has(path)) return this.#sendPage(reply);
      const file = await this.#static.read(path);
      if (!file) return sendError(reply, 'ERR_NOT_FOUND');
      reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(file.contentType).send(file.body);
    });
  }

  async #sendPage(reply: FastifyReply): Promise<FastifyReply> {
    const page = await this.#static.read('/index.html');
    if (!page) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build`.\n');
    }
    return reply.header('cache-control', 'no-store').type(page.contentType).send(page.body);
  }
}

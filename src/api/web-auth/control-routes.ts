/**
 * Dashboard routes that exist ONLY on the control socket (file mode 0600 is
 * their access check): minting a one-time login URL for `sealsync ui`,
 * ending every dashboard session for `sealsync ui --logout-all`, and setting
 * the password for `sealsync passwd`. The WebServer refuses to mount
 * `/api/ui/*`, so a browser session can never mint tokens.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SealsyncError } from '../../errors.js';
import { catalogErrorHandler } from '../route-parse.js';
import type { AuthStore } from './auth-store.js';
import { MAX_PASSWORD_BYTES } from './password-hash.js';

export interface UiControlDeps {
  readonly auth: AuthStore;
  /** The login URL for a token, or null when the dashboard is not running. */
  readonly loginUrl: (token: string) => string | null;
}

export interface LoginTokenResponse {
  readonly url: string;
  readonly expiresAt: number;
}

export interface LogoutAllResponse {
  /** Sessions that were live and are now ended. */
  readonly loggedOut: number;
}

const passwordBody = z.object({ password: z.string().max(MAX_PASSWORD_BYTES) }).strict();

/** Errors in the control API's shape (`{ error }`), whatever error handler the app has. */
async function answer<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (err) {
    const e = err instanceof SealsyncError ? err : new SealsyncError('ERR_INTERNAL');
    return reply.code(e.status).send({ error: e.toJSON() });
  }
}

export async function registerUiControlRoutes(app: FastifyInstance, deps: UiControlDeps): Promise<void> {
  // A scope of their own with the API's error handler: a body Fastify cannot parse (not JSON, empty,
  // another content type) is a catalog error in the API's shape here too, not Fastify's own.
  await app.register(async (scope) => {
    scope.setErrorHandler(catalogErrorHandler);
    registerUiRoutes(scope, deps);
  });
}

function registerUiRoutes(app: FastifyInstance, deps: UiControlDeps): void {
  app.post('/api/ui/login-token', (_request, reply) => answer(reply, async (): Promise<LoginTokenResponse> => {
    // Check first so a disabled dashboard never leaves a usable token behind.
    if (deps.loginUrl('probe') === null) throw new SealsyncError('ERR_UI_DISABLED');
    const { token, expiresAt } = deps.auth.issueLoginToken();
    const url = deps.loginUrl(token);
    if (url === null) throw new SealsyncError('ERR_UI_DISABLED');
    return { url, expiresAt };
  }));

  // Every browser that is logged in (a lost laptop, a session someone else started) is out at once.
  app.post('/api/ui/logout-all', (_request, reply) => answer(reply, async (): Promise<LogoutAllResponse> => ({
    loggedOut: deps.auth.sessions.clear(),
  })));

  app.post('/api/ui/password', (request, reply) => answer(reply, async () => {
    const parsed = passwordBody.safeParse(request.body ?? {});
    if (!parsed.success) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'expected {"password"}');
    await deps.auth.setPassword(parsed.data.password);
    return { ok: true };
  }));
}

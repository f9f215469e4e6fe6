/**
 * The control API on the home's Unix socket (mode 0600: only the owner can
 * drive the daemon). Same routes as the dashboard, no auth: the file mode is
 * the access check. Paths must be canonical (canonical-path.ts), as on the
 * dashboard. Refuses to start when a live daemon answers on the socket;
 * removes a stale socket left by a crash.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { SealsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DaemonApi } from './daemon-api.js';
import { MAX_REQUEST_BODY_BYTES, registerApiRoutes } from './routes.js';
import { refuseNonCanonicalPaths } from './canonical-path.js';
import { trackRoutes, type RouteEntry } from './route-table.js';

/** sun_path is 108 bytes on Linux, 104 on macOS; keep under both. */
export const MAX_SOCKET_PATH_BYTES = 103;
const PROBE_TIMEOUT_MS = 1000;

export interface ControlServer {
  readonly path: string;
  readonly app: FastifyInstance;
  /** Every route and method the socket answers, as Fastify registered them. */
  routes(): readonly RouteEntry[];
  stop(): Promise<void>;
}

/** True when something accepts connections on the socket path. */
export function probeSocket(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    const done = (alive: boolean): void => { clearTimeout(timer); sock.destroy(); resolve(alive); };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function startControlServer(
  path: string,
  api: DaemonApi,
  logger: Logger,
  /** Routes only the control socket serves (the dashboard's `/api/ui/*`: login tokens, password). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>,
): Promise<ControlServer> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new SealsyncError('ERR_LISTEN', `control socket path is too long for the OS (${Buffer.byteLength(path)} bytes > ${MAX_SOCKET_PATH_BYTES}): use a shorter --home`);
  }
  const existing = await lstat(path).catch(() => null);
  if (existing) {
    if (!existing.isSocket()) {
      throw new SealsyncError('ERR_LISTEN', `${path} exists and is not a socket; remove it`);
    }
    if (await probeSocket(path)) throw new SealsyncError('ERR_DAEMON_RUNNING');
    await unlink(path); // stale: its daemon died without cleaning up
  }
  const app = Fastify({ logger: false, bodyLimit: MAX_REQUEST_BODY_BYTES });
  const routes = trackRoutes(app);
  // The socket needs no login, but a path still has one spelling here, as on the dashboard.
  refuseNonCanonicalPaths(app);
  await registerApiRoutes(app, api);
  if (extraRoutes) await extraRoutes(app);
  try {
    await app.listen({ path });
    await chmod(path, 0o600);
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new SealsyncError('ERR_LISTEN', `cannot listen on ${path}: ${(err as Error).message}`);
  }
  logger.info({ path }, 'control socket listening');
  return {
    path,
    app,
    routes,
    async stop() {
      // Open SSE streams would keep close() waiting: end them first.
      app.server.closeAllConnections?.();
      await app.close();
      await unlink(path).catch(() => undefined);
    },
  };
}

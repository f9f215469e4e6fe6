/**
 * The REST API as one Fastify plugin, served over the control socket (CLI)
 * and over loopback HTTP(S) by the dashboard (src/api/web-server.ts adds
 * auth in front). Bodies are validated with zod here, at the edge; the daemon
 * receives typed values. Errors are `{ error: SealsyncError.toJSON() }` with
 * the catalog's HTTP status.
 *
 * Routes: GET /api/status; GET|POST|DELETE /api/folders; POST /api/folders/share;
 * POST /api/folders/rescan (rw/ro folders); POST /api/folders/revert (read-only);
 * POST /api/folders/gc and /api/folders/verify (encrypted folders);
 * GET|POST|DELETE /api/peers; GET /api/events (SSE); GET|PATCH /api/settings;
 * POST /api/stop; the devices' routes (device-routes.ts); versions, restore, conflicts, retention and the event log in history-routes.ts.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SealsyncError } from '../errors.js';
import { MAX_BANDWIDTH_KBPS, MAX_METRICS_TOKEN_LENGTH } from '../daemon/config-schema.js';
import { MAX_RETENTION_DAYS } from '../model/retention.js';
import type { DaemonApi, DaemonEvent } from './daemon-api.js';
import { MAX_ADDRESS_LENGTH, MAX_PEER_SPEC_LENGTH } from '../net/peer-address.js';
import { registerDeviceRoutes } from './device-routes.js';
import { registerFolderControlRoutes, registerHistoryRoutes } from './history-routes.js';
import { abortOnClose, catalogErrorHandler, errorBody, parseBody, pathString } from './route-parse.js';

export const SSE_HEARTBEAT_MS = 15_000;
/** An SSE client that stops reading is dropped once this much is buffered. */
export const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;
const MAX_KEY = 512;

const addFolderBody = z.object({
  path: pathString,
  key: z.string().min(1).max(MAX_KEY),
  rescanIntervalS: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  watch: z.boolean().optional(),
}).strict();
const pathBody = z.object({ path: pathString }).strict();
const shareBody = z.object({ path: pathString, type: z.enum(['rw', 'ro', 'encrypted']) }).strict();
const rescanBody = z.object({ path: pathString, wait: z.boolean().optional() }).strict();
const gcBody = z.object({ path: pathString, retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).optional() }).strict();
const addPeerBody = z.object({ address: z.string().min(1).max(MAX_PEER_SPEC_LENGTH) }).strict();
const removePeerBody = z.object({ peer: z.string().min(1).max(MAX_ADDRESS_LENGTH) }).strict();
const settingsPatchBody = z.object({
  device: z.object({ name: z.string().max(256).optional() }).strict().optional(),
  listen: z.string().max(MAX_ADDRESS_LENGTH).optional(),
  discovery: z.boolean().optional(),
  webui: z.object({
    enabled: z.boolean().optional(),
    listen: z.string().max(MAX_ADDRESS_LENGTH).optional(),
    https: z.boolean().optional(),
  }).strict().optional(),
  // The config's own bounds: an integer past them (1e81 is an integer to zod) is refused here, not passed on.
  archive: z.object({ retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).optional() }).strict().optional(),
  bandwidth: z.object({
    maxSendKBps: z.number().int().min(0).max(MAX_BANDWIDTH_KBPS).optional(),
    maxRecvKBps: z.number().int().min(0).max(MAX_BANDWIDTH_KBPS).optional(),
  }).strict().optional(),
  metrics: z.object({
    enabled: z.boolean().optional(),
    listen: z.string().max(MAX_ADDRESS_LENGTH).optional(),
    token: z.string().max(MAX_METRICS_TOKEN_LENGTH).nullable().optional(),
  }).strict().optional(),
}).strict();

export async function registerApiRoutes(app: FastifyInstance, api: DaemonApi): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler(catalogErrorHandler);
    scope.setNotFoundHandler((_request, reply) => {
      const { status, body } = errorBody(new SealsyncError('ERR_NOT_FOUND', 'no such API route'));
      void reply.code(status).send(body);
    });

    scope.get('/api/status', async () => api.status());

    scope.get('/api/folders', async () => ({ folders: api.listFolders() }));
    scope.post('/api/folders', async (req, reply) => {
      const body = parseBody(addFolderBody, req.body);
      const folder = await api.addFolder(body, { signal: abortOnClose(reply.raw) });
      return reply.code(201).send({ folder });
    });
    scope.delete('/api/folders', async (req) => {
      const { path } = parseBody(pathBody, req.body ?? queryPath(req.query));
      await api.removeFolder(path);
      return { ok: true };
    });
    scope.post('/api/folders/share', async (req) => {
      const { path, type } = parseBody(shareBody, req.body);
      return { key: api.shareFolder(path, type) };
    });

    // rw/ro folders: scan now; with wait: true the answer comes when the scan has finished.
    scope.post('/api/folders/rescan', async (req, reply) => {
      const { path, wait } = parseBody(rescanBody, req.body);
      if (!api.rescanFolder) throw new SealsyncError('ERR_NOT_FOUND', 'rescan is not available');
      return { folder: await api.rescanFolder(path, { wait: wait ?? false, signal: abortOnClose(reply.raw) }) };
    });

    // Encrypted folders: garbage collection and scrub (reports carry counts and block ids only).
    scope.post('/api/folders/gc', async (req, reply) => {
      const { path, retentionDays } = parseBody(gcBody, req.body);
      if (!api.gcFolder) throw new SealsyncError('ERR_NOT_FOUND', 'gc is not available');
      return { report: await api.gcFolder(path, { signal: abortOnClose(reply.raw), ...(retentionDays !== undefined ? { retentionDays } : {}) }) };
    });
    scope.post('/api/folders/verify', async (req, reply) => {
      const { path } = parseBody(pathBody, req.body);
      if (!api.verifyFolder) throw new SealsyncError('ERR_NOT_FOUND', 'verify is not available');
      return { report: await api.verifyFolder(path, { signal: abortOnClose(reply.raw) }) };
    });

    // Read-only folders: undo local edits.
    scope.post('/api/folders/revert', async (req, reply) => {
      const { path } = parseBody(pathBody, req.body);
      if (!api.revertFolder) throw new SealsyncError('ERR_NOT_FOUND', 'revert is not available');
      await api.revertFolder(path, { signal: abortOnClose(reply.raw) });
      return { ok: true };
    });

    scope.get('/api/peers', async () => ({ peers: api.listPeers() }));
    scope.post('/api/peers', async (req, reply) => {
      const { address } = parseBody(addPeerBody, req.body);
      const peer = await api.addPeer(address);
      return reply.code(201).send({ peer });
    });
    scope.delete('/api/peers', async (req) => {
      const { peer } = parseBody(removePeerBody, req.body);
      await api.removePeer(peer);
      return { ok: true };
    });

    scope.get('/api/settings', async () => ({ settings: api.getSettings() }));
    scope.patch('/api/settings', async (req) => {
      const patch = parseBody(settingsPatchBody, req.body);
      return { settings: await api.patchSettings(patch) };
    });

    scope.post('/api/stop', async (_req, reply) => {
      // Stop after the response has gone out, so the caller sees success.
      reply.raw.once('finish', () => api.requestStop());
      return { ok: true };
    });

    scope.get('/api/events', (req, reply) => { streamEvents(api, req.raw, reply); });

    registerDeviceRoutes(scope, api, parseBody, abortOnClose);
    registerHistoryRoutes(scope, api);
    registerFolderControlRoutes(scope, api);
  }, { prefix: '' });
}

function queryPath(query: unknown): unknown {
  return typeof query === 'object' && query !== null && 'path' in query ? { path: (query as { path: unknown }).path } : undefined;
}

/** Server-Sent Events: recent events first, then live ones; a heartbeat comment keeps proxies from timing out. */
function streamEvents(api: DaemonApi, req: NodeJS.EventEmitter, reply: FastifyReply): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  // Node sends the head only with the first body bytes: without this comment a
  // quiet daemon would leave the client (EventSource) unopened until the heartbeat.
  res.write(': connected\n\n');
  let closed = false;
  const write = (event: DaemonEvent): void => {
    if (closed) return;
    if (res.writableLength > SSE_MAX_BUFFERED_BYTES) { cleanup(); res.destroy(); return; }
    res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  for (const e of api.events.recent()) write(e);
  let unsubscribe: () => void = () => undefined;
  try {
    unsubscribe = api.events.subscribe(write);
  } catch {
    res.end();
    return;
  }
  const heartbeat = setInterval(() => { if (!closed) res.write(': heartbeat\n\n'); }, SSE_HEARTBEAT_MS);
  heartbeat.unref();
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  res.once('close', cleanup);
  req.once('close', () => { if (res.writableEnded || res.destroyed) cleanup(); });
}

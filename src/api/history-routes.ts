/**
 * REST routes for a folder's past and the event log (registered inside
 * registerApiRoutes' scope, so they share its error handling; on the
 * dashboard they need a session and, for POST/PATCH, the CSRF token, as
 * every route that declares no access rule does):
 *
 * GET /api/folders/versions?path=&file=      archived versions (of `file` and below)
 * POST /api/folders/restore                  { path, file, version? }
 * GET /api/folders/conflicts?path=           conflict copies with both sides
 * POST /api/folders/conflicts/keep           { path, copy, keep: copy|original }
 * PATCH /api/folders/retention               { path, retentionDays: n|null, maxMiB }
 * GET /api/events/log?after=&limit=          the persistent event log
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealsyncError } from '../errors.js';
import { MAX_ARCHIVE_MIB } from '../daemon/config-schema.js';
import { MAX_RETENTION_DAYS } from '../model/retention.js';
import type { DaemonApi } from './daemon-api.js';
import { abortOnClose, parseBody, pathString } from './route-parse.js';

/** A folder-relative path: bounded, no NUL; the engine checks its segments. */
const relPath = z.string().max(4096).refine((p) => !p.includes('\0'), { message: 'must not contain NUL' });
const relPathNonEmpty = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), { message: 'must not contain NUL' });
const versionId = z.string().regex(/^\d{8}-\d{6}(?:-\d{1,3})?$/, { message: 'must be a version id like 20261207-013000' });

const versionsQuery = z.object({ path: pathString, file: relPath.optional() }).strict();
const restoreBody = z.object({ path: pathString, file: relPathNonEmpty, version: versionId.optional() }).strict();
const conflictsQuery = z.object({ path: pathString }).strict();
const keepBody = z.object({ path: pathString, copy: relPathNonEmpty, keep: z.enum(['copy', 'original']) }).strict();
const retentionBody = z.object({
  path: pathString,
  retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).nullable(),
  maxMiB: z.number().int().min(0).max(MAX_ARCHIVE_MIB),
}).strict();
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
}).strict();

export const DEFAULT_EVENTS_PAGE = 200;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new SealsyncError('ERR_NOT_FOUND', `${what} is not available`);
  return value;
}

export function registerHistoryRoutes(scope: FastifyInstance, api: DaemonApi): void {
  scope.get('/api/folders/versions', async (req) => {
    const { path, file } = parseBody(versionsQuery, req.query);
    return { files: await need(api.history, 'versions').versions(path, file ?? '') };
  });
  scope.post('/api/folders/restore', async (req, reply) => {
    const { path, file, version } = parseBody(restoreBody, req.body);
    return { restored: await need(api.history, 'restore').restore(path, file, version, { signal: abortOnClose(reply.raw) }) };
  });
  scope.get('/api/folders/conflicts', async (req) => {
    const { path } = parseBody(conflictsQuery, req.query);
    return { conflicts: await need(api.history, 'conflicts').conflicts(path) };
  });
  scope.post('/api/folders/conflicts/keep', async (req, reply) => {
    const { path, copy, keep } = parseBody(keepBody, req.body);
    await need(api.history, 'conflicts').keep(path, copy, keep, { signal: abortOnClose(reply.raw) });
    return { ok: true };
  });
  scope.patch('/api/folders/retention', async (req) => {
    const { path, retentionDays, maxMiB } = parseBody(retentionBody, req.body);
    if (!api.setFolderRetention) throw new SealsyncError('ERR_NOT_FOUND', 'retention is not available');
    return { folder: await api.setFolderRetention(path, { retentionDays, maxMiB }) };
  });
  scope.get('/api/events/log', async (req) => {
    const { after, limit } = parseBody(eventsQuery, req.query);
    return { events: need(api.history, 'the event log').events(after ?? null, limit ?? DEFAULT_EVENTS_PAGE) };
  });
}

const pauseBody = z.object({ path: pathString, paused: z.boolean() }).strict();
const ignoreQuery = z.object({ path: pathString }).strict();
const ignoreBody = z.object({ path: pathString, text: z.string().max(64 * 1024) }).strict();

/**
 * POST /api/folders/pause { path, paused }; GET /api/folders/ignore?path=;
 * POST /api/folders/ignore { path, text } (save, then rescan);
 * POST /api/folders/ignore/preview { path, text } (what it would exclude).
 */
export function registerFolderControlRoutes(scope: FastifyInstance, api: DaemonApi): void {
  scope.post('/api/folders/pause', async (req) => {
    const { path, paused } = parseBody(pauseBody, req.body);
    if (!api.setFolderPaused) throw new SealsyncError('ERR_NOT_FOUND', 'pause is not available');
    return { folder: await api.setFolderPaused(path, paused) };
  });
  scope.get('/api/folders/ignore', async (req) => {
    const { path } = parseBody(ignoreQuery, req.query);
    return { text: await need(api.ignore, '.sealignore').read(path) };
  });
  scope.post('/api/folders/ignore', async (req) => {
    const { path, text } = parseBody(ignoreBody, req.body);
    await need(api.ignore, '.sealignore').save(path, text);
    return { ok: true };
  });
  scope.post('/api/folders/ignore/preview', async (req, reply) => {
    const { path, text } = parseBody(ignoreBody, req.body);
    return { preview: await need(api.ignore, '.sealignore').preview(path, text, { signal: abortOnClose(reply.raw) }) };
  });
}

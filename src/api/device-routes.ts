/**
 * REST routes of "My devices" (src/daemon/devices/), in the same plugin as
 * the other routes (routes.ts), so on the dashboard they need a session and
 * a CSRF token like every route that declares no access (request-guard.ts).
 *
 *   GET    /api/devices            linked devices, servers, pending joins, unlinked ids
 *   POST   /api/devices/invite     { server?: [path], autoApprove? } -> { code, link, … } (the code is a secret: shown once)
 *   GET    /api/devices/invites    pending and past invites (never a secret)
 *   DELETE /api/devices/invites    { id }: revoke
 *   POST   /api/devices/approve    { id, approve? }: approve (or deny) a waiting device
 *   POST   /api/devices/join       { code, into?, as? }: join with a code as a device (default) or a server; answers once the inviter decided
 *   POST   /api/devices/unlink     { id }
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { MAX_INVITE_TEXT_LENGTH } from '../crypto/invite.js';
import { SealsyncError } from '../errors.js';
import type { DaemonApi, DevicesApi } from './daemon-api.js';
import { pathString } from './route-parse.js';

const MAX_ID = 200;
const inviteBody = z.object({ server: z.array(pathString).max(1000).optional(), autoApprove: z.boolean().optional() }).strict();
const idBody = z.object({ id: z.string().min(1).max(MAX_ID) }).strict();
const approveBody = z.object({ id: z.string().min(1).max(MAX_ID), approve: z.boolean().optional() }).strict();
const joinBody = z.object({ code: z.string().min(1).max(MAX_INVITE_TEXT_LENGTH), into: pathString.optional(), as: z.enum(['device', 'server']).optional() }).strict();

type Parse = <T>(schema: z.ZodType<T>, body: unknown) => T;

function devicesOf(api: DaemonApi): DevicesApi {
  if (!api.devicesApi) throw new SealsyncError('ERR_NOT_FOUND', 'devices are not available');
  return api.devicesApi();
}

export function registerDeviceRoutes(scope: FastifyInstance, api: DaemonApi, parseBody: Parse, abortOnClose: (res: ServerResponse) => AbortSignal): void {
  scope.get('/api/devices', async () => ({ devices: devicesOf(api).report() }));
  scope.post('/api/devices/invite', async (req, reply) => {
    const body = parseBody(inviteBody, req.body);
    const invite = await devicesOf(api).invite({ ...(body.server ? { server: body.server } : {}), ...(body.autoApprove !== undefined ? { autoApprove: body.autoApprove } : {}) });
    // The code is a secret: never cached anywhere on the way.
    return reply.code(201).header('cache-control', 'no-store').send(invite);
  });
  scope.get('/api/devices/invites', async () => ({ invites: devicesOf(api).listInvites() }));
  scope.delete('/api/devices/invites', async (req) => ({ invite: devicesOf(api).revokeInvite(parseBody(idBody, req.body).id) }));
  scope.post('/api/devices/approve', async (req) => {
    const { id, approve } = parseBody(approveBody, req.body);
    const devices = devicesOf(api);
    if (approve ?? true) devices.approve(id);
    else devices.deny(id);
    return { ok: true };
  });
  scope.post('/api/devices/join', async (req, reply) => {
    const { code, into, as } = parseBody(joinBody, req.body);
    return { joined: await devicesOf(api).join(code, into, { signal: abortOnClose(reply.raw), as: as ?? 'device' }) };
  });
  scope.post('/api/devices/unlink', async (req) => {
    await devicesOf(api).unlink(parseBody(idBody, req.body).id);
    return { ok: true };
  });
}

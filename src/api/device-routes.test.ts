import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { EventBus } from '../daemon/event-bus.js';
import { SealsyncError } from '../errors.js';
import type { DaemonApi, DevicesApi } from './daemon-api.js';
import { registerApiRoutes } from './routes.js';

const calls: string[] = [];
const devices: DevicesApi = {
  report: () => ({ linked: true, devices: [], servers: [], pending: [], unlinked: [], into: '/home/u', keyringGeneration: 3 }),
  invite: async (req) => {
    calls.push(`invite ${JSON.stringify(req)}`);
    return { invite: { id: 'ab', kind: req.server ? 'server' : 'device', folders: req.server ?? [], autoApprove: req.autoApprove ?? false, createdAt: 1, expiresAt: 2, state: 'pending', usedBy: null }, code: 'ICODE', link: 'sealsync://invite?code=ICODE', deviceId: 'ID', addresses: [] };
  },
  listInvites: () => [],
  revokeInvite: (id) => { calls.push(`revoke ${id}`); throw new SealsyncError('ERR_NOT_FOUND', `no invite ${id}`); },
  approve: (id) => { calls.push(`approve ${id}`); },
  deny: (id) => { calls.push(`deny ${id}`); },
  join: async (code, into, opts) => {
    calls.push(`join ${code} ${into ?? '-'} as=${opts?.as ?? '?'} signal=${String(opts?.signal !== undefined)}`);
    return { kind: 'device', inviter: { id: 'ID', name: 'a' }, folders: [] };
  },
  unlink: async (id) => { calls.push(`unlink ${id}`); },
};

let app: FastifyInstance;
let bare: FastifyInstance;
before(async () => {
  const base = { events: new EventBus(() => 1) } as unknown as DaemonApi;
  app = Fastify();
  await registerApiRoutes(app, { ...base, devicesApi: () => devices });
  bare = Fastify();
  await registerApiRoutes(bare, base);
});
after(async () => { await app.close(); await bare.close(); });

test('device routes validate bodies and call the devices API', async () => {
  const list = await app.inject({ method: 'GET', url: '/api/devices' });
  assert.equal(list.json().devices.keyringGeneration, 3);
  const inv = await app.inject({ method: 'POST', url: '/api/devices/invite', payload: { server: ['/srv/a'], autoApprove: true } });
  assert.equal(inv.statusCode, 201);
  assert.equal(inv.headers['cache-control'], 'no-store', 'the code is never cached');
  assert.equal(inv.json().code, 'ICODE');
  for (const [url, payload] of [
    ['/api/devices/invite', { evil: 1 }], ['/api/devices/invite', { server: 'x' }], ['/api/devices/invite', { server: ['a\0b'] }],
    ['/api/devices/approve', {}], ['/api/devices/approve', { id: 'x'.repeat(300) }], ['/api/devices/join', { code: 'x'.repeat(5000) }],
    ['/api/devices/join', { code: 'I', into: 7 }], ['/api/devices/join', { code: 'I', as: 'Server' }], ['/api/devices/join', { code: 'I', as: '' }],
    ['/api/devices/join', { code: 'I', as: true }], ['/api/devices/join', { code: 'I', as: ['server'] }], ['/api/devices/unlink', { id: '' }],
  ] as const) {
    const r = await app.inject({ method: 'POST', url, payload });
    assert.equal(r.statusCode, 400, `${url} ${JSON.stringify(payload).slice(0, 40)}`);
    assert.equal(r.json().error.code, 'ERR_INVALID_ARGUMENT');
  }
  await app.inject({ method: 'POST', url: '/api/devices/approve', payload: { id: 'D1' } });
  await app.inject({ method: 'POST', url: '/api/devices/approve', payload: { id: 'D2', approve: false } });
  const joined = await app.inject({ method: 'POST', url: '/api/devices/join', payload: { code: 'ICODE', into: '/x' } });
  assert.equal(joined.json().joined.kind, 'device');
  await app.inject({ method: 'POST', url: '/api/devices/join', payload: { code: 'ICODE', as: 'server' } });
  await app.inject({ method: 'POST', url: '/api/devices/join', payload: { code: 'ICODE', as: 'device' } });
  await app.inject({ method: 'POST', url: '/api/devices/unlink', payload: { id: 'D3' } });
  const revoke = await app.inject({ method: 'DELETE', url: '/api/devices/invites', payload: { id: 'zz' } });
  assert.equal(revoke.statusCode, 404);
  assert.deepEqual(calls, [
    'invite {"server":["/srv/a"],"autoApprove":true}', 'approve D1', 'deny D2', 'join ICODE /x as=device signal=true', 'join ICODE - as=server signal=true', 'join ICODE - as=device signal=true', 'unlink D3', 'revoke zz',
  ]);
});

test('without devices (a fake, or the network off) the routes answer 404 in one line', async () => {
  const r = await bare.inject({ method: 'GET', url: '/api/devices' });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'ERR_NOT_FOUND');
});

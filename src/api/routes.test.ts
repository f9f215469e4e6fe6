import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { MAX_BANDWIDTH_KBPS } from '../daemon/config-schema.js';
import { EventBus } from '../daemon/event-bus.js';
import { MAX_RETENTION_DAYS } from '../model/retention.js';
import { SealsyncError, isSealsyncError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { ControlClient } from './control-client.js';
import { startControlServer, type ControlServer } from './control-server.js';
import { STATUS_SCHEMA_VERSION, type DaemonApi, FolderInfo, StatusReport } from './daemon-api.js';
import { registerApiRoutes } from './routes.js';
import { attackEverySpelling } from './testing/spelling-attacks.js';
import { AuthStore, memoryPasswordStore } from './web-auth/auth-store.js';
import { registerUiControlRoutes } from './web-auth/control-routes.js';

/** A fake DaemonApi that records calls. */
function fakeApi(): DaemonApi & { calls: string[]; bus: EventBus; stops: number } {
  const bus = new EventBus(() => 1000);
  const folder: FolderInfo = { path: '/f', type: 'rw', folderId: 'abcd', rescanIntervalS: 60, watch: true };
  const status: StatusReport = { schemaVersion: STATUS_SCHEMA_VERSION, device: { id: 'ID', name: 'n', listen: ['tcp://127.0.0.1:1'] }, folders: [], peers: [] };
  const api = {
    calls: [] as string[],
    bus,
    stops: 0,
    events: bus,
    status: () => status,
    listFolders: () => [folder],
    addFolder: async (req: { path: string; key: string }) => {
      api.calls.push(`add ${req.path}`);
      if (req.key === 'bad') throw new SealsyncError('ERR_KEY_CHECKSUM');
      return folder;
    },
    removeFolder: async (path: string) => { api.calls.push(`remove ${path}`); },
    shareFolder: (path: string, type: string) => { api.calls.push(`share ${path} ${type}`); return 'RKEY'; },
    listPeers: () => [],
    addPeer: async (address: string) => ({ id: null, name: null, address, connected: false, inBytes: 0, outBytes: 0, inRate: 0, outRate: 0, sharedFolders: 0, problem: null }),
    removePeer: async (p: string) => { api.calls.push(`rmpeer ${p}`); },
    getSettings: () => ({
      device: { name: 'n' }, listen: '0.0.0.0:1', discovery: true,
      webui: { enabled: false, listen: '127.0.0.1:2', https: false, passwordSet: false },
      archive: { retentionDays: 30 }, bandwidth: { maxSendKBps: 0, maxRecvKBps: 0 },
    }),
    patchSettings: async () => api.getSettings(),
    requestStop: () => { api.stops++; },
    rescanFolder: async (path: string, opts: { wait?: boolean; signal?: AbortSignal } = {}) => {
      api.calls.push(`rescan ${path} wait=${String(opts.wait)} signal=${String(opts.signal !== undefined)}`);
      if (path === '/enc') throw new SealsyncError('ERR_FOLDER_TYPE', 'rescan applies to rw and ro folders');
      return { path, type: 'rw' as const, folderId: 'abcd', state: 'idle' as const, localFiles: 2, localBytes: 9, globalFiles: 2, globalBytes: 9,
        needFiles: 0, needBytes: 0, error: null, errorCode: null, notice: null, parked: [], parkedCount: 0, peers: { connected: 0, devicesConnected: 0, lastSeenAt: null }, lastChangeAt: null };
    },
  };
  return api;
}

let app: FastifyInstance;
let api: ReturnType<typeof fakeApi>;
before(async () => {
  api = fakeApi();
  app = Fastify();
  await registerApiRoutes(app, api);
  await app.ready();
});
after(() => app.close());

test('GET /api/status and /api/folders', async () => {
  const s = await app.inject({ method: 'GET', url: '/api/status' });
  assert.equal(s.statusCode, 200);
  assert.equal(s.json().device.id, 'ID');
  const f = await app.inject({ method: 'GET', url: '/api/folders' });
  assert.equal(f.json().folders[0].path, '/f');
});

test('POST /api/folders validates the body and maps errors to the catalog', async () => {
  const ok = await app.inject({ method: 'POST', url: '/api/folders', payload: { path: '/f', key: 'good' } });
  assert.equal(ok.statusCode, 201);
  const missing = await app.inject({ method: 'POST', url: '/api/folders', payload: { path: '/f' } });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().error.code, 'ERR_INVALID_ARGUMENT');
  assert.match(missing.json().error.message, /^key: /);
  const extra = await app.inject({ method: 'POST', url: '/api/folders', payload: { path: '/f', key: 'k', evil: 1 } });
  assert.equal(extra.statusCode, 400);
  const bad = await app.inject({ method: 'POST', url: '/api/folders', payload: { path: '/f', key: 'bad' } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'ERR_KEY_CHECKSUM');
  const malformed = await app.inject({ method: 'POST', url: '/api/folders', headers: { 'content-type': 'application/json' }, payload: '{nope' });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().error.code, 'ERR_INVALID_ARGUMENT');
  const huge = await app.inject({ method: 'POST', url: '/api/folders', payload: { path: 'x'.repeat(5000), key: 'k' } });
  assert.equal(huge.statusCode, 400);
  assert.deepEqual(api.calls.filter((c) => c.startsWith('add')), ['add /f', 'add /f']);
});

test('share, delete, peers, settings, unknown route', async () => {
  const share = await app.inject({ method: 'POST', url: '/api/folders/share', payload: { path: '/f', type: 'ro' } });
  assert.equal(share.json().key, 'RKEY');
  const badType = await app.inject({ method: 'POST', url: '/api/folders/share', payload: { path: '/f', type: 'admin' } });
  assert.equal(badType.statusCode, 400);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/folders', payload: { path: '/f' } })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/api/peers', payload: { address: 'tcp://h:1' } })).statusCode, 201);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/peers', payload: { peer: 'tcp://h:1' } })).statusCode, 200);
  const settings = await app.inject({ method: 'GET', url: '/api/settings' });
  assert.equal(settings.json().settings.webui.passwordSet, false);
  const patch = await app.inject({ method: 'PATCH', url: '/api/settings', payload: { webui: { passwordHash: 'x' } } });
  assert.equal(patch.statusCode, 400, 'the password hash cannot be set through settings');
  // Found by fuzzing (rest-bodies): integers past the config's bounds reached the daemon.
  for (const [payload, field] of [
    [{ archive: { retentionDays: 18754e77 } }, 'archive.retentionDays'],
    [{ archive: { retentionDays: MAX_RETENTION_DAYS + 1 } }, 'archive.retentionDays'],
    [{ bandwidth: { maxSendKBps: 1457138147 } }, 'bandwidth.maxSendKBps'],
    [{ bandwidth: { maxRecvKBps: Number.MAX_SAFE_INTEGER + 2 } }, 'bandwidth.maxRecvKBps'],
  ] as const) {
    const res = await app.inject({ method: 'PATCH', url: '/api/settings', payload });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.equal(res.json().error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(res.json().error.message, new RegExp(`^${field.replace('.', '\\.')}: `));
  }
  const inBounds = await app.inject({ method: 'PATCH', url: '/api/settings', payload: { archive: { retentionDays: MAX_RETENTION_DAYS }, bandwidth: { maxSendKBps: MAX_BANDWIDTH_KBPS } } });
  assert.equal(inBounds.statusCode, 200);
  const nf = await app.inject({ method: 'GET', url: '/api/nope' });
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.json().error.code, 'ERR_NOT_FOUND');
});

test('POST /api/folders/rescan: wait is passed through with the request signal; bad bodies and folder types refused', async () => {
  const ok = await app.inject({ method: 'POST', url: '/api/folders/rescan', payload: { path: '/f', wait: true } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().folder.localFiles, 2);
  const quick = await app.inject({ method: 'POST', url: '/api/folders/rescan', payload: { path: '/f' } });
  assert.equal(quick.statusCode, 200);
  assert.deepEqual(api.calls.filter((c) => c.startsWith('rescan')), ['rescan /f wait=true signal=true', 'rescan /f wait=false signal=true']);
  const badWait = await app.inject({ method: 'POST', url: '/api/folders/rescan', payload: { path: '/f', wait: 'yes' } });
  assert.equal(badWait.statusCode, 400);
  assert.match(badWait.json().error.message, /^wait: /);
  const enc = await app.inject({ method: 'POST', url: '/api/folders/rescan', payload: { path: '/enc', wait: true } });
  assert.equal(enc.statusCode, 400);
  assert.equal(enc.json().error.code, 'ERR_FOLDER_TYPE');
});

test('POST /api/stop asks the daemon to stop after answering', async () => {
  const r = await app.inject({ method: 'POST', url: '/api/stop', payload: {} });
  assert.equal(r.statusCode, 200);
  assert.equal(api.stops, 1);
});

test('control socket: 0600, client round trip, errors come back as SealsyncError, SSE streams events', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-cs-'));
  const sock = join(dir, 'control.sock');
  let server: ControlServer | null = null;
  try {
    const client = new ControlClient(sock);
    await assert.rejects(client.status(), (e: unknown) => isSealsyncError(e, 'ERR_DAEMON_NOT_RUNNING'));
    const local = fakeApi();
    local.bus.emit({ type: 'folder-changed', path: '/old', change: 'added' });
    server = await startControlServer(sock, local, silentLogger());
    assert.equal((await stat(sock)).mode & 0o777, 0o600);
    assert.equal((await client.status()).device.id, 'ID');
    await assert.rejects(client.request('POST', '/api/folders', { path: '/f', key: 'bad' }), (e: unknown) => isSealsyncError(e, 'ERR_KEY_CHECKSUM'));
    // A second server on a live socket is refused.
    await assert.rejects(startControlServer(sock, local, silentLogger()), (e: unknown) => isSealsyncError(e, 'ERR_DAEMON_RUNNING'));

    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: sock, path: '/api/events' }, (res) => {
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          if (buf.includes('/old') && !buf.includes('/live')) local.bus.emit({ type: 'folder-changed', path: '/live', change: 'removed' });
          if (buf.includes('/live')) { req.destroy(); resolve(buf); }
        });
      });
      req.on('error', reject);
      req.setTimeout(5000, () => reject(new Error('SSE timeout')));
      req.end();
    });
    assert.match(text, /id: 1\nevent: folder-changed\ndata: \{.*"\/old"/);
    assert.match(text, /id: 2\nevent: folder-changed\ndata: \{.*"\/live"/);
    // The stream's close unsubscribes (bounded wait).
    for (let i = 0; i < 50 && local.bus.listenerCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(local.bus.listenerCount, 0);
  } finally {
    await server?.stop();
    await assert.rejects(stat(sock), 'stop removes the socket');
    await rm(dir, { recursive: true, force: true });
  }
});

test('control socket: every route and method refuses every non-canonical spelling before its handler', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-cs-'));
  const sock = join(dir, 'control.sock');
  const local = fakeApi();
  // Wired as the daemon wires it (daemon-host.ts): the REST plugin plus the dashboard's socket-only /api/ui/* routes.
  const auth = new AuthStore({ passwords: memoryPasswordStore() });
  const loginUrls: string[] = [];
  const server = await startControlServer(sock, local, silentLogger(), (app) => registerUiControlRoutes(app, {
    auth, loginUrl: (token) => { loginUrls.push(token); return `http://127.0.0.1:1/login#token=${token}`; },
  }));
  try {
    const routes = server.routes();
    for (const must of ['POST /api/folders/share', 'POST /api/stop', 'POST /api/ui/login-token', 'POST /api/ui/logout-all', 'POST /api/ui/password']) {
      assert.ok(routes.some((r) => `${r.method} ${r.url}` === must), `route table has ${must}`);
    }
    const live = auth.sessions.create();
    const report = await attackEverySpelling(routes, {
      host: 'localhost', port: 80, socketPath: sock, concurrency: 8,
      bodies: {
        'POST /api/folders': { path: '/f', key: 'good' }, 'POST /api/folders/share': { path: '/f', type: 'rw' }, 'POST /api/stop': {},
        'POST /api/ui/password': { password: 'attacker password' },
      },
    });
    assert.deepEqual(report.accepted, []);
    assert.deepEqual(local.calls, []);
    assert.equal(local.stops, 0);
    assert.deepEqual(loginUrls, [], 'no login token was minted');
    assert.equal(auth.tokens.outstanding, 0, 'no login token was minted');
    assert.equal(auth.hasPassword(), false, 'no password was set');
    assert.ok(auth.sessions.get(live.id), 'no logout-all ran');
    assert.equal((await new ControlClient(sock).status()).device.id, 'ID', 'the canonical spelling still answers');
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

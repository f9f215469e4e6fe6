/**
 * REST request bodies and query strings (src/api/routes.ts and the routes it
 * registers, plus the socket-only /api/ui/* routes), through Fastify's inject
 * with the routes registered as the control socket registers them (body
 * limit, JSON parser, the routes' zod schemas and error handler). The input
 * is `[route][content type][body]`: byte 0 picks a route of REST_FUZZ_ROUTES,
 * byte 1 a content type; for a route that reads a query string the rest is
 * the query. `rest-routes.test.ts` checks that the table holds every route
 * and method the app registers, so a new route is fuzzed from its first day.
 * The daemon behind the routes is a fake that checks what it is handed: the
 * types and bounds the schemas promise (a string path without NUL, an
 * integer in range...); anything else it throws as a plain Error. Outcomes:
 * 2xx passes; 4xx with a catalog error passes as that error; a 5xx (a throw
 * that is not a catalog error, in a route or in the fake) or an error body
 * outside the catalog is a crash.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { EventBus } from '../../../src/daemon/event-bus.js';
import { ERROR_CATALOG, SealsyncError } from '../../../src/errors.js';
import type { DaemonApi, DevicesApi, FolderInfo, PeerStatus, Settings, SettingsPatch } from '../../../src/api/daemon-api.js';
import { MAX_REQUEST_BODY_BYTES as MAX_BODY_BYTES, registerApiRoutes } from '../../../src/api/routes.js';
import { registerUiControlRoutes } from '../../../src/api/web-auth/control-routes.js';
import type { AuthStore } from '../../../src/api/web-auth/auth-store.js';
import { MAX_PASSWORD_BYTES } from '../../../src/api/web-auth/password-hash.js';
import { MAX_INVITE_TEXT_LENGTH } from '../../../src/crypto/invite.js';
import { MAX_ARCHIVE_MIB, MAX_BANDWIDTH_KBPS } from '../../../src/daemon/config-schema.js';
import { MAX_RETENTION_DAYS } from '../../../src/model/retention.js';
import { DEFAULT_BOUNDS, bytesOf, type FuzzTarget } from '../target.js';
import { MAX_ADDRESS_LENGTH, MAX_PEER_SPEC_LENGTH } from '../../../src/net/peer-address.js';

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', null, 'application/x-www-form-urlencoded', 'APPLICATION/JSON'] as const;

/** Throws a plain Error (a crash: it becomes a 500) when the routes hand the daemon something their schemas should have refused. */
function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`the daemon was handed ${what}`);
}
const isPath = (p: unknown): boolean => typeof p === 'string' && p.length >= 1 && p.length <= 4096 && !p.includes('\0');
const isOptInt = (v: unknown, min: number, max: number): boolean => v === undefined || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max);
const isOptBool = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
const isOptString = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max);
const isId = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 200;

const FOLDER: FolderInfo = { path: '/f', type: 'rw', folderId: 'abcd', rescanIntervalS: 60, watch: true };
const SETTINGS: Settings = {
  device: { name: 'n' }, listen: '0.0.0.0:1', discovery: true,
  webui: { enabled: false, listen: '127.0.0.1:2', https: false, passwordSet: false },
  archive: { retentionDays: 30 }, bandwidth: { maxSendKBps: 0, maxRecvKBps: 0 },
};
/** What the fake answers matters not: only what it is handed is checked. */
const PEER = { id: null, name: null, address: 'tcp://h:1', connected: false, inBytes: 0, outBytes: 0, inRate: 0, outRate: 0 } as unknown as PeerStatus;

function checkingApi(): DaemonApi {
  return {
    events: new EventBus(() => 0),
    status: () => ({ device: { id: 'ID', name: 'n', listen: [] }, folders: [], peers: [] }) as unknown as ReturnType<DaemonApi['status']>,
    listFolders: () => [FOLDER],
    addFolder: async (req) => {
      expect(isPath(req.path) && typeof req.key === 'string' && req.key.length >= 1 && req.key.length <= 512, 'a bad folder request');
      expect(isOptInt(req.rescanIntervalS, 1, 7 * 24 * 3600) && isOptBool(req.watch), 'bad folder options');
      return FOLDER;
    },
    removeFolder: async (path) => expect(isPath(path), 'a bad path'),
    shareFolder: (path, type) => {
      expect(isPath(path) && ['rw', 'ro', 'encrypted'].includes(type), 'a bad share request');
      return 'KEY';
    },
    listPeers: () => [],
    addPeer: async (address) => {
      expect(typeof address === 'string' && address.length >= 1 && address.length <= MAX_PEER_SPEC_LENGTH, 'a bad peer address');
      return PEER;
    },
    removePeer: async (peer) => expect(typeof peer === 'string' && peer.length >= 1 && peer.length <= MAX_ADDRESS_LENGTH, 'a bad peer'),
    getSettings: () => SETTINGS,
    patchSettings: async (patch: SettingsPatch) => {
      expect(typeof patch === 'object' && patch !== null, 'a patch that is not an object');
      expect(isOptString(patch.device?.name, 256) && isOptString(patch.listen, MAX_ADDRESS_LENGTH) && isOptBool(patch.discovery), 'bad settings');
      expect(isOptString(patch.webui?.listen, MAX_ADDRESS_LENGTH) && isOptBool(patch.webui?.enabled) && isOptBool(patch.webui?.https), 'bad dashboard settings');
      expect(isOptInt(patch.archive?.retentionDays, 0, MAX_RETENTION_DAYS), 'a bad retention');
      expect(isOptInt(patch.bandwidth?.maxSendKBps, 0, MAX_BANDWIDTH_KBPS) && isOptInt(patch.bandwidth?.maxRecvKBps, 0, MAX_BANDWIDTH_KBPS), 'a bad bandwidth');
      return SETTINGS;
    },
    requestStop: () => undefined,
    gcFolder: async (path, opts) => {
      expect(isPath(path) && isOptInt(opts?.retentionDays, 0, MAX_RETENTION_DAYS), 'a bad gc request');
      return { scannedRecords: 0, removedRecords: 0, removedBlocks: 0, freedBytes: 0 } as unknown as Awaited<ReturnType<NonNullable<DaemonApi['gcFolder']>>>;
    },
    verifyFolder: async (path) => {
      expect(isPath(path), 'a bad path');
      return { checkedBlocks: 0, badBlocks: [] } as unknown as Awaited<ReturnType<NonNullable<DaemonApi['verifyFolder']>>>;
    },
    rescanFolder: async (path, opts) => {
      expect(isPath(path) && isOptBool(opts?.wait), 'a bad rescan request');
      return { path, type: 'rw', folderId: 'abcd', state: 'idle' } as unknown as Awaited<ReturnType<NonNullable<DaemonApi['rescanFolder']>>>;
    },
    revertFolder: async (path) => expect(isPath(path), 'a bad path'),
    devicesApi: () => ({
      report: () => ({}) as unknown as ReturnType<DevicesApi['report']>,
      invite: async (req) => {
        expect(req.server === undefined || (Array.isArray(req.server) && req.server.length <= 1000 && req.server.every(isPath)), 'bad server paths');
        expect(isOptBool(req.autoApprove), 'a bad autoApprove');
        return {} as unknown as Awaited<ReturnType<DevicesApi['invite']>>;
      },
      listInvites: () => [],
      revokeInvite: (id) => { expect(isId(id), 'a bad invite id'); return {} as unknown as ReturnType<DevicesApi['revokeInvite']>; },
      approve: (id) => expect(isId(id), 'a bad device id'),
      deny: (id) => expect(isId(id), 'a bad device id'),
      join: async (code, into) => {
        expect(typeof code === 'string' && code.length >= 1 && code.length <= MAX_INVITE_TEXT_LENGTH, 'a bad invite code');
        expect(into === undefined || isPath(into), 'a bad join folder');
        return {} as unknown as Awaited<ReturnType<DevicesApi['join']>>;
      },
      unlink: async (id) => expect(isId(id), 'a bad device id'),
    }),
    setFolderRetention: async (path, r) => {
      expect(isPath(path) && (r.retentionDays === null || isOptInt(r.retentionDays, 0, MAX_RETENTION_DAYS)) && isOptInt(r.maxMiB, 0, MAX_ARCHIVE_MIB), 'a bad retention');
      return FOLDER;
    },
    setFolderPaused: async (path, paused) => {
      expect(isPath(path) && typeof paused === 'boolean', 'a bad pause request');
      return {} as unknown as Awaited<ReturnType<NonNullable<DaemonApi['setFolderPaused']>>>;
    },
    ignore: {
      read: async (path) => { expect(isPath(path), 'a bad path'); return ''; },
      save: async (path, text) => expect(isPath(path) && isOptString(text, 64 * 1024) && typeof text === 'string', 'a bad .sealignore'),
      preview: async (path, text) => {
        expect(isPath(path) && isOptString(text, 64 * 1024) && typeof text === 'string', 'a bad .sealignore preview');
        return {} as unknown as Awaited<ReturnType<NonNullable<DaemonApi['ignore']>['preview']>>;
      },
    },
    history: {
      versions: async (path, under) => { expect(isPath(path) && isOptString(under, 4096) && !(under ?? '').includes('\0'), 'a bad versions request'); return []; },
      restore: async (path, file, version) => {
        expect(isPath(path) && isPath(file) && (version === undefined || /^\d{8}-\d{6}(?:-\d{1,3})?$/.test(version)), 'a bad restore request');
        return [];
      },
      conflicts: async (path) => { expect(isPath(path), 'a bad path'); return []; },
      keep: async (path, copy, keep) => expect(isPath(path) && isPath(copy) && (keep === 'copy' || keep === 'original'), 'a bad keep request'),
      events: (after, limit) => {
        expect((after === null || (Number.isSafeInteger(after) && after >= 0)) && Number.isInteger(limit) && limit >= 1 && limit <= 1000, 'a bad event log page');
        return [];
      },
    },
  };
}

/** The socket-only /api/ui/* routes' view of the dashboard's auth: checks what it is handed, never hashes. */
function checkingAuth(): AuthStore {
  return {
    issueLoginToken: () => ({ token: 't', expiresAt: 0 }),
    sessions: { clear: () => 0 },
    setPassword: async (password: unknown) => expect(typeof password === 'string' && Buffer.byteLength(password) <= MAX_PASSWORD_BYTES * 4, 'a bad password'),
  } as unknown as AuthStore;
}

const path = fc.oneof(fc.constantFrom('/f', '/home/me/Photos', '/ä/ö'), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((p) => !p.includes('\0')));
const rel = fc.oneof(fc.constantFrom('a.txt', 'docs/b.md', 'ä/ö.txt'), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((p) => !p.includes('\0')));
const id = fc.string({ minLength: 1, maxLength: 80 });
const versionId = fc.tuple(fc.integer({ min: 20000101, max: 20991231 }), fc.integer({ min: 0, max: 235959 }), fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }))
  .map(([d, t, n]) => `${d}-${String(t).padStart(6, '0')}${n === undefined ? '' : `-${n}`}`);
const ignoreText = fc.array(fc.oneof(fc.constantFrom('*.tmp', '**/node_modules/**', '!keep.txt', '/build', '# c'), fc.string({ maxLength: 30 })), { maxLength: 12 }).map((l) => l.join('\n'));
const none = fc.constant({});

/** How a route takes its input: a JSON body, a query string, or nothing it reads. */
type Takes = 'body' | 'query' | 'none';

/**
 * Every route and method the REST plugin and the socket-only UI routes
 * register (HEAD aside: Fastify answers it from the GET's handler without a
 * body), with a generator of valid input. The order is the input's route byte.
 */
export const REST_FUZZ_ROUTES: ReadonlyArray<{ method: string; url: string; takes: Takes; valid: fc.Arbitrary<Record<string, unknown>> }> = [
  { method: 'POST', url: '/api/folders', takes: 'body', valid: fc.record({ path, key: fc.string({ minLength: 1, maxLength: 120 }), rescanIntervalS: fc.integer({ min: 1, max: 604800 }), watch: fc.boolean() }, { requiredKeys: ['path', 'key'] }) },
  { method: 'DELETE', url: '/api/folders', takes: 'body', valid: fc.record({ path }) },
  { method: 'POST', url: '/api/folders/share', takes: 'body', valid: fc.record({ path, type: fc.constantFrom('rw', 'ro', 'encrypted') }) },
  { method: 'POST', url: '/api/folders/rescan', takes: 'body', valid: fc.record({ path, wait: fc.boolean() }, { requiredKeys: ['path'] }) },
  { method: 'POST', url: '/api/folders/gc', takes: 'body', valid: fc.record({ path, retentionDays: fc.integer({ min: 0, max: MAX_RETENTION_DAYS }) }, { requiredKeys: ['path'] }) },
  { method: 'POST', url: '/api/folders/verify', takes: 'body', valid: fc.record({ path }) },
  { method: 'POST', url: '/api/folders/revert', takes: 'body', valid: fc.record({ path }) },
  { method: 'POST', url: '/api/peers', takes: 'body', valid: fc.record({ address: fc.string({ minLength: 1, maxLength: 60 }) }) },
  { method: 'DELETE', url: '/api/peers', takes: 'body', valid: fc.record({ peer: fc.string({ minLength: 1, maxLength: 60 }) }) },
  {
    method: 'PATCH', url: '/api/settings', takes: 'body', valid: fc.record({
      device: fc.record({ name: fc.string({ maxLength: 70 }) }, { requiredKeys: [] }),
      listen: fc.string({ maxLength: 30 }),
      discovery: fc.boolean(),
      webui: fc.record({ enabled: fc.boolean(), listen: fc.string({ maxLength: 30 }), https: fc.boolean() }, { requiredKeys: [] }),
      archive: fc.record({ retentionDays: fc.integer({ min: 0, max: MAX_RETENTION_DAYS }) }, { requiredKeys: [] }),
      bandwidth: fc.record({ maxSendKBps: fc.integer({ min: 0, max: MAX_BANDWIDTH_KBPS }), maxRecvKBps: fc.integer({ min: 0, max: MAX_BANDWIDTH_KBPS }) }, { requiredKeys: [] }),
    }, { requiredKeys: [] }),
  },
  { method: 'GET', url: '/api/status', takes: 'none', valid: none },
  { method: 'GET', url: '/api/folders', takes: 'none', valid: none },
  { method: 'GET', url: '/api/peers', takes: 'none', valid: none },
  { method: 'GET', url: '/api/settings', takes: 'none', valid: none },
  { method: 'POST', url: '/api/stop', takes: 'body', valid: none },
  { method: 'GET', url: '/api/devices', takes: 'none', valid: none },
  { method: 'POST', url: '/api/devices/invite', takes: 'body', valid: fc.record({ server: fc.array(path, { maxLength: 4 }), autoApprove: fc.boolean() }, { requiredKeys: [] }) },
  { method: 'GET', url: '/api/devices/invites', takes: 'none', valid: none },
  { method: 'DELETE', url: '/api/devices/invites', takes: 'body', valid: fc.record({ id }) },
  { method: 'POST', url: '/api/devices/approve', takes: 'body', valid: fc.record({ id, approve: fc.boolean() }, { requiredKeys: ['id'] }) },
  { method: 'POST', url: '/api/devices/join', takes: 'body', valid: fc.record({ code: fc.string({ minLength: 1, maxLength: 200 }), into: path, as: fc.constantFrom('device', 'server') }, { requiredKeys: ['code'] }) },
  { method: 'POST', url: '/api/devices/unlink', takes: 'body', valid: fc.record({ id }) },
  { method: 'GET', url: '/api/folders/versions', takes: 'query', valid: fc.record({ path, file: rel }, { requiredKeys: ['path'] }) },
  { method: 'POST', url: '/api/folders/restore', takes: 'body', valid: fc.record({ path, file: rel, version: versionId }, { requiredKeys: ['path', 'file'] }) },
  { method: 'GET', url: '/api/folders/conflicts', takes: 'query', valid: fc.record({ path }) },
  { method: 'POST', url: '/api/folders/conflicts/keep', takes: 'body', valid: fc.record({ path, copy: rel, keep: fc.constantFrom('copy', 'original') }) },
  { method: 'PATCH', url: '/api/folders/retention', takes: 'body', valid: fc.record({ path, retentionDays: fc.option(fc.integer({ min: 0, max: MAX_RETENTION_DAYS }), { nil: null }), maxMiB: fc.integer({ min: 0, max: MAX_ARCHIVE_MIB }) }) },
  { method: 'GET', url: '/api/events/log', takes: 'query', valid: fc.record({ after: fc.nat(), limit: fc.integer({ min: 1, max: 1000 }) }, { requiredKeys: [] }) },
  { method: 'POST', url: '/api/folders/pause', takes: 'body', valid: fc.record({ path, paused: fc.boolean() }) },
  { method: 'GET', url: '/api/folders/ignore', takes: 'query', valid: fc.record({ path }) },
  { method: 'POST', url: '/api/folders/ignore', takes: 'body', valid: fc.record({ path, text: ignoreText }) },
  { method: 'POST', url: '/api/folders/ignore/preview', takes: 'body', valid: fc.record({ path, text: ignoreText }) },
  { method: 'POST', url: '/api/ui/login-token', takes: 'body', valid: none },
  { method: 'POST', url: '/api/ui/logout-all', takes: 'body', valid: none },
  { method: 'POST', url: '/api/ui/password', takes: 'body', valid: fc.record({ password: fc.string({ maxLength: 100 }) }) },
];

/**
 * Routes of the table that are not fuzzed, and why. The event stream never
 * ends (an SSE response), so there is nothing to decode and no answer to check.
 */
export const REST_FUZZ_EXCLUDED: Readonly<Record<string, string>> = {
  'GET /api/events': 'an event stream (SSE) that reads no input and never ends',
};

/** Builds the app the target drives: the REST plugin and the /api/ui/* routes, as the control socket has them. */
export async function restFuzzApp(register?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });
  register?.(app);
  await registerApiRoutes(app, checkingApi());
  await registerUiControlRoutes(app, { auth: checkingAuth(), loginUrl: () => 'http://127.0.0.1:1/login' });
  await app.ready();
  return app;
}

/** Query-string bytes as a request target carries them: printable URL characters stay, everything else is %XX. */
function queryText(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~=&%+[\]]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function queryOf(value: Record<string, unknown>): string {
  return new URLSearchParams(Object.entries(value).map(([k, v]) => [k, String(v)])).toString();
}

const valid = fc.nat({ max: REST_FUZZ_ROUTES.length - 1 }).chain((route) => {
  const r = REST_FUZZ_ROUTES[route]!;
  return fc.tuple(fc.constant(route), fc.constantFrom(0, 1, 5), r.valid);
}).map(([route, ct, value]) => {
  const text = REST_FUZZ_ROUTES[route]!.takes === 'query' ? queryOf(value) : JSON.stringify(value);
  const bytes = bytesOf(text);
  const out = new Uint8Array(2 + bytes.length);
  out[0] = route;
  out[1] = ct;
  out.set(bytes, 2);
  return out;
});

export const restBodiesTarget: FuzzTarget = {
  name: 'rest-bodies',
  description: 'every REST route (src/api/routes.ts and the /api/ui/* socket routes) through Fastify inject: body and query parsing and validation',
  valid,
  dictionary: ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', '1e309', '-1', '0.5', '"__proto__"', '"constructor"', '"path"', '"key"', '\\u0000', '\\ud800', '&', '=', '%00', '%ZZ', 'path=', '[]='],
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: MAX_BODY_BYTES + 1024,
  async open() {
    const app = await restFuzzApp();
    return {
      async decode(input: Uint8Array) {
        const route = REST_FUZZ_ROUTES[(input[0] ?? 0) % REST_FUZZ_ROUTES.length]!;
        const contentType = CONTENT_TYPES[(input[1] ?? 0) % CONTENT_TYPES.length];
        const rest = input.subarray(2);
        const res = await app.inject({
          method: route.method as 'GET',
          url: route.takes === 'query' ? `${route.url}?${queryText(rest)}` : route.url,
          ...(route.takes === 'query' ? {} : { payload: Buffer.from(rest) }),
          headers: contentType === null ? {} : { 'content-type': contentType },
        });
        if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode} from ${route.method} ${route.url}: ${res.body.slice(0, 200)}`);
        if (res.statusCode >= 400) {
          const code = (res.json() as { error?: { code?: unknown } }).error?.code;
          if (typeof code !== 'string' || !(code in ERROR_CATALOG)) throw new Error(`HTTP ${res.statusCode} without a catalog error: ${res.body.slice(0, 200)}`);
          throw SealsyncError.fromJSON((res.json() as { error: unknown }).error);
        }
        return res.statusCode;
      },
      close: () => app.close(),
    };
  },
};

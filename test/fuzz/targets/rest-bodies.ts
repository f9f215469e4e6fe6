/**
 * REST request bodies (src/api/routes.ts), through Fastify's inject with the
 * routes registered as the control socket registers them (body limit, JSON
 * parser, the routes' zod schemas and error handler). The input is
 * `[route][content type][body]`: byte 0 picks a route, byte 1 a content type.
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
import type { DaemonApi, FolderInfo, PeerStatus, Settings, SettingsPatch } from '../../../src/api/daemon-api.js';
import { MAX_REQUEST_BODY_BYTES as MAX_BODY_BYTES, registerApiRoutes } from '../../../src/api/routes.js';
import { DEFAULT_BOUNDS, bytesOf, type FuzzTarget } from '../target.js';
import { MAX_ADDRESS_LENGTH, MAX_PEER_SPEC_LENGTH } from '../../../src/net/peer-address.js';

const ROUTES = [
  ['POST', '/api/folders'], ['DELETE', '/api/folders'], ['POST', '/api/folders/share'], ['POST', '/api/folders/rescan'],
  ['POST', '/api/folders/gc'], ['POST', '/api/folders/verify'], ['POST', '/api/folders/revert'], ['POST', '/api/peers'],
  ['DELETE', '/api/peers'], ['PATCH', '/api/settings'], ['GET', '/api/status'], ['GET', '/api/folders'],
] as const;
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', null, 'application/x-www-form-urlencoded', 'APPLICATION/JSON'] as const;

/** Throws a plain Error (a crash: it becomes a 500) when the routes hand the daemon something their schemas should have refused. */
function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`the daemon was handed ${what}`);
}
const isPath = (p: unknown): boolean => typeof p === 'string' && p.length >= 1 && p.length <= 4096 && !p.includes('\0');
const isOptInt = (v: unknown, min: number, max: number): boolean => v === undefined || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max);
const isOptBool = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
const isOptString = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max);

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
      expect(isOptInt(patch.archive?.retentionDays, 0, Number.MAX_SAFE_INTEGER), 'a bad retention');
      expect(isOptInt(patch.bandwidth?.maxSendKBps, 0, Number.MAX_SAFE_INTEGER) && isOptInt(patch.bandwidth?.maxRecvKBps, 0, Number.MAX_SAFE_INTEGER), 'a bad bandwidth');
      return SETTINGS;
    },
    requestStop: () => undefined,
    gcFolder: async (path, opts) => {
      expect(isPath(path) && isOptInt(opts?.retentionDays, 0, 3650), 'a bad gc request');
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
  };
}

const path = fc.oneof(fc.constantFrom('/f', '/home/me/Photos', '/ä/ö'), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((p) => !p.includes('\0')));
const bodies: ReadonlyArray<fc.Arbitrary<unknown>> = [
  fc.record({ path, key: fc.string({ minLength: 1, maxLength: 120 }), rescanIntervalS: fc.integer({ min: 1, max: 604800 }), watch: fc.boolean() }, { requiredKeys: ['path', 'key'] }),
  fc.record({ path }),
  fc.record({ path, type: fc.constantFrom('rw', 'ro', 'encrypted') }),
  fc.record({ path, wait: fc.boolean() }, { requiredKeys: ['path'] }),
  fc.record({ path, retentionDays: fc.integer({ min: 0, max: 3650 }) }, { requiredKeys: ['path'] }),
  fc.record({ path }),
  fc.record({ path }),
  fc.record({ address: fc.string({ minLength: 1, maxLength: 60 }) }),
  fc.record({ peer: fc.string({ minLength: 1, maxLength: 60 }) }),
  fc.record({
    device: fc.record({ name: fc.string({ maxLength: 70 }) }, { requiredKeys: [] }),
    listen: fc.string({ maxLength: 30 }),
    discovery: fc.boolean(),
    webui: fc.record({ enabled: fc.boolean(), listen: fc.string({ maxLength: 30 }), https: fc.boolean() }, { requiredKeys: [] }),
    archive: fc.record({ retentionDays: fc.nat() }, { requiredKeys: [] }),
    bandwidth: fc.record({ maxSendKBps: fc.nat(), maxRecvKBps: fc.nat() }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  fc.constant({}),
  fc.constant({}),
];

const valid = fc.nat({ max: ROUTES.length - 1 }).chain((route) =>
  fc.tuple(fc.constant(route), fc.constantFrom(0, 1, 5), bodies[route] as fc.Arbitrary<unknown>)).map(([route, ct, body]) => {
  const json = bytesOf(JSON.stringify(body));
  const out = new Uint8Array(2 + json.length);
  out[0] = route;
  out[1] = ct;
  out.set(json, 2);
  return out;
});

export const restBodiesTarget: FuzzTarget = {
  name: 'rest-bodies',
  description: 'the REST routes (src/api/routes.ts) through Fastify inject: body parsing and validation',
  valid,
  dictionary: ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', '1e309', '-1', '0.5', '"__proto__"', '"constructor"', '"path"', '"key"', '\\u0000', '\\ud800'],
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: MAX_BODY_BYTES + 1024,
  async open() {
    const app: FastifyInstance = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });
    await registerApiRoutes(app, checkingApi());
    await app.ready();
    return {
      async decode(input: Uint8Array) {
        const [method, url] = ROUTES[(input[0] ?? 0) % ROUTES.length] as (typeof ROUTES)[number];
        const contentType = CONTENT_TYPES[(input[1] ?? 0) % CONTENT_TYPES.length];
        const res = await app.inject({
          method, url, payload: Buffer.from(input.subarray(2)),
          headers: contentType === null ? {} : { 'content-type': contentType },
        });
        if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode} from ${method} ${url}: ${res.body.slice(0, 200)}`);
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

/**
 * Prometheus metrics (prom-client), off by default (`metrics.enabled`). It
 * listens on loopback only (the config schema refuses anything else) and
 * answers only `GET /metrics` with `Authorization: Bearer <metrics.token>`:
 * other local users can reach loopback too. Labels carry folder types,
 * states and directions, never a device id, a path or a name, so a scrape
 * says how much and how well, not what or with whom.
 *
 * Values are read from the daemon's status at scrape time; nothing runs
 * between scrapes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { parseHostPort } from '../daemon/address.js';
import { listenFailure } from '../errors.js';
import { folderStateSchema } from '../engine/peer/status-schema.js';
import type { Logger } from '../logger.js';
import type { DaemonApi, StatusReport } from './daemon-api.js';

export const METRICS_PATH = '/metrics';
/** Prometheus scrapes one at a time; a few spare for curl. */
const MAX_CONNECTIONS = 8;
const REQUEST_TIMEOUT_MS = 10_000;
const FOLDER_TYPES = ['rw', 'ro', 'encrypted'] as const;
/** Every state of the status schema (status-schema.ts), so a new state is counted without a change here. */
const FOLDER_STATES = folderStateSchema.options;

export interface MetricsOptions {
  /** HOST:PORT on loopback. */
  readonly listen: string;
  readonly token: string;
  readonly version: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The registry with sealsync's gauges; `status` is read on every scrape. */
export function createMetricsRegistry(status: () => StatusReport, version: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sealsync_' });
  new Gauge({ name: 'sealsync_info', help: 'Always 1; the version is a label', labelNames: ['version'], registers: [registry] }).set({ version }, 1);
  // Each gauge reads the same status snapshot, taken once per scrape by the first one.
  let snapshot: StatusReport | null = null;
  const current = (): StatusReport => (snapshot ??= status());
  new Gauge({
    name: 'sealsync_folders', help: 'Folders by key type and state', labelNames: ['type', 'state'], registers: [registry],
    collect() {
      snapshot = null;
      const s = current();
      for (const type of FOLDER_TYPES) {
        for (const state of FOLDER_STATES) this.set({ type, state }, s.folders.filter((f) => f.type === type && f.state === state).length);
      }
    },
  });
  const sums = (name: string, help: string, files: boolean): void => {
    new Gauge({
      name, help, labelNames: ['type', 'scope'], registers: [registry],
      collect() {
        const s = current();
        for (const type of FOLDER_TYPES) {
          const of = s.folders.filter((f) => f.type === type);
          const sum = (pick: (f: StatusReport['folders'][number]) => number): number => of.reduce((n, f) => n + pick(f), 0);
          this.set({ type, scope: 'local' }, sum((f) => (files ? f.localFiles : f.localBytes)));
          this.set({ type, scope: 'global' }, sum((f) => (files ? f.globalFiles : f.globalBytes)));
          this.set({ type, scope: 'need' }, sum((f) => (files ? f.needFiles : f.needBytes)));
        }
      },
    });
  };
  sums('sealsync_folder_files', 'Files in all folders of a type: here (local), in the newest versions (global), still to fetch (need)', true);
  sums('sealsync_folder_bytes', 'Bytes in all folders of a type: here (local), in the newest versions (global), still to fetch (need)', false);
  new Gauge({
    name: 'sealsync_peers', help: 'Known peers, connected or not', labelNames: ['connected'], registers: [registry],
    collect() {
      const peers = current().peers;
      this.set({ connected: 'true' }, peers.filter((p) => p.connected).length);
      this.set({ connected: 'false' }, peers.filter((p) => !p.connected).length);
    },
  });
  new Gauge({
    name: 'sealsync_peer_traffic_bytes', help: 'Bytes exchanged with the peers known now, since the daemon started', labelNames: ['direction'], registers: [registry],
    collect() {
      const peers = current().peers;
      this.set({ direction: 'in' }, peers.reduce((n, p) => n + p.inBytes, 0));
      this.set({ direction: 'out' }, peers.reduce((n, p) => n + p.outBytes, 0));
    },
  });
  return registry;
}

export class MetricsServer {
  readonly #registry: Registry;
  readonly #token: Buffer;
  readonly #opts: MetricsOptions;
  readonly #log: Logger;
  #server: Server | null = null;

  constructor(api: Pick<DaemonApi, 'status'>, logger: Logger, opts: MetricsOptions) {
    this.#registry = createMetricsRegistry(() => api.status(), opts.version);
    this.#token = digest(opts.token);
    this.#opts = opts;
    this.#log = logger;
  }

  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.#opts.listen, { allowZero: true });
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.warn({ err }, 'metrics scrape failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(listenFailure({
        subject: 'the metrics endpoint', address: this.#opts.listen,
        hint: 'choose another port with `sealsync config set metrics.listen 127.0.0.1:PORT`',
      }, err)));
      server.listen({ host, port }, resolve);
    });
    this.#server = server;
    this.#log.info({ url: this.url() }, 'metrics listening');
  }

  /** http://HOST:PORT/metrics as bound. */
  url(): string {
    const a = this.#server?.address() as AddressInfo | null;
    if (!a) return '';
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}${METRICS_PATH}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#registry.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (!this.#authorized(req.headers.authorization)) {
      // Before anything else: without the token not even the path is confirmed.
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="sealsync metrics"', 'content-type': 'text/plain' }).end('unauthorized\n');
      return;
    }
    if (path !== METRICS_PATH) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return; }
    const body = await this.#registry.metrics();
    res.writeHead(200, { 'content-type': this.#registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  #authorized(header: string | undefined): boolean {
    const m = /^Bearer ([^\s]{1,512})$/i.exec(header ?? '');
    // Compared as digests: equal length, and the time taken says nothing about the token.
    return m !== null && timingSafeEqual(digest(m[1] as string), this.#token);
  }
}

/**
 * TLS transport: TLS 1.3 only over TCP, both sides presenting their
 * self-signed Ed25519 device certificate. There is no CA: we accept any
 * certificate in the handshake (TLS itself proves the peer holds the matching
 * private key) and then pin by device id = hash of the certificate's public
 * key. A dialler that knows whom it is calling refuses any other device; an
 * acceptor reports the id it saw. Nothing reads an application byte before
 * this check: a SecureConnection is only handed out after it.
 *
 * The ALPN protocol id keeps a stray TLS client (a browser, a scanner) from
 * being mistaken for a peer before the first frame.
 *
 * Incoming connections are bounded before they cost anything: each needs an
 * admission ticket at the TCP accept (admission.ts: caps in total and per
 * source address, until it joins a folder), and one that has not finished
 * its TLS handshake by the handshake deadline is destroyed (the session
 * enforces the rest of the same deadline for the Hello). Refusals are logged
 * at a bounded rate (refusal-log.ts).
 */
import tls, { type TLSSocket } from 'node:tls';
import { type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SealsyncError, listenFailure } from '../errors.js';
import { deviceIdFromCertificate } from '../crypto/index.js';
import type { Logger } from '../logger.js';
import { formatPeerAddress, parseListenAddress, parsePeerAddress } from './peer-address.js';
import { ConnectionAdmission, type AdmissionTicket } from './admission.js';
import { DIAL_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, MAX_INCOMING_CONNECTIONS } from './limits.js';
import { RefusalLog } from './refusal-log.js';

export const ALPN_PROTOCOL = 'sealsync/1';
/**
 * The device-linking channel (invites, joins, keyring exchange: link-channel.ts)
 * runs on the same port under its own ALPN id, so it never shares a parser
 * with folder sessions.
 */
export const LINK_ALPN_PROTOCOL = 'sealsync-link/1';
export type ChannelKind = 'sync' | 'link';
const ALPN_OF: Record<ChannelKind, string> = { sync: ALPN_PROTOCOL, link: LINK_ALPN_PROTOCOL };
/**
 * TLS 1.3 cipher suites in order of preference, the same on both ends so the
 * first one is what two sealsync peers use. AES-128-GCM leads because it is
 * the cheapest here (AES-NI: 10 rounds instead of AES-256's 14; measured on a
 * 256 MiB loopback transfer, ~10-20 ms less CPU per side) and it is what
 * Go's TLS, hence Syncthing, picks on AES hardware. 128-bit keys are enough
 * for DESIGN.md's network attacker: a TLS session key is ephemeral (ECDHE),
 * lives for one connection, and nothing in the threat model can search a
 * 2^128 key space; TLS 1.3 makes this suite mandatory to implement. What an
 * attacker who records traffic could gain later is limited anyway: block
 * contents inside are sealed again with AES-256-GCM under the folder's keys,
 * and records are encrypted and signed. The other two suites stay allowed
 * for peers configured differently.
 */
export const TLS_CIPHER_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** This device's TLS credentials (from crypto.createDeviceIdentity). */
export interface DeviceCredentials {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly deviceId: string;
}

export interface SecureConnection {
  readonly socket: TLSSocket;
  readonly remoteDeviceId: string;
  /** `tcp://host:port`: what we dialled, or where an incoming connection came from. */
  readonly address: string;
  /** Outgoing = we are the TLS client (we send Join). */
  readonly direction: 'outgoing' | 'incoming';
  /** Incoming: the place among unjoined connections; the session releases it when a folder is joined. */
  readonly admission?: AdmissionTicket;
  /** Incoming: when (Date.now() ms) the peer's Hello must have arrived; the TCP accept plus the handshake timeout. */
  readonly handshakeDeadline?: number;
}

function tlsOptions(identity: DeviceCredentials, alpn: readonly string[]) {
  return {
    key: identity.privateKeyPem,
    cert: identity.certificatePem,
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    // TLS 1.3 suites go in `ciphers` in Node (names starting with TLS_).
    ciphers: TLS_CIPHER_SUITES,
    ALPNProtocols: [...alpn],
    // We verify the peer ourselves by device id; there is no CA.
    rejectUnauthorized: false,
  };
}

/** Device id of the certificate the peer presented, or ERR_PEER_IDENTITY. */
export function peerDeviceId(socket: TLSSocket): string {
  const cert = socket.getPeerX509Certificate();
  if (!cert) throw new SealsyncError('ERR_PEER_IDENTITY', 'peer presented no certificate');
  if (cert.publicKey.asymmetricKeyType !== 'ed25519') {
    throw new SealsyncError('ERR_PEER_IDENTITY', 'peer certificate is not an Ed25519 device certificate');
  }
  if (socket.getProtocol() !== 'TLSv1.3' || (socket.alpnProtocol !== ALPN_PROTOCOL && socket.alpnProtocol !== LINK_ALPN_PROTOCOL)) {
    throw new SealsyncError('ERR_PEER_IDENTITY', 'peer did not negotiate TLS 1.3 with the sealsync protocol');
  }
  try {
    return deviceIdFromCertificate(new Uint8Array(cert.raw));
  } catch (err) {
    throw new SealsyncError('ERR_PEER_IDENTITY', 'peer certificate cannot be read', undefined, { cause: err });
  }
}

function remoteAddressOf(socket: Socket): string {
  return formatPeerAddress({ host: unmapped(socket.remoteAddress ?? 'unknown'), port: socket.remotePort ?? 0 });
}

export interface DialOptions {
  identity: DeviceCredentials;
  /** When set, any other device at that address is refused (ERR_PEER_IDENTITY). */
  expectedDeviceId?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Source address to connect from (tests use 127.0.0.x to act as several hosts). */
  localAddress?: string;
  /** 'sync' (default): a folder session; 'link': the device-linking channel. */
  channel?: ChannelKind;
}

/** Connects to `tcp://HOST:PORT` and completes the TLS handshake and the identity check. */
export async function dial(address: string, opts: DialOptions): Promise<SecureConnection> {
  const { host, port } = parsePeerAddress(address);
  const canonical = formatPeerAddress({ host, port });
  const timeoutMs = opts.timeoutMs ?? DIAL_TIMEOUT_MS;
  return new Promise<SecureConnection>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new SealsyncError('ERR_ABORTED'));
      return;
    }
    const socket = tls.connect({
      ...tlsOptions(opts.identity, [ALPN_OF[opts.channel ?? 'sync']]),
      host,
      port,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      // No SNI: the hostname would travel in clear and tells the peer nothing it needs.
      servername: '',
      checkServerIdentity: () => undefined,
    });
    let settled = false;
    const finish = (err: SealsyncError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      if (err) {
        socket.destroy();
        reject(err);
        return;
      }
      resolve({ socket, remoteDeviceId: remoteId, address: canonical, direction: 'outgoing' });
    };
    let remoteId = '';
    // `stage` tells status why a peer is down (peer-problem.ts): the TCP connect or the TLS handshake after it.
    let stage: 'connect' | 'tls' = 'connect';
    socket.once('connect', () => { stage = 'tls'; });
    const onAbort = () => finish(new SealsyncError('ERR_ABORTED'));
    const onError = (err: NodeJS.ErrnoException) =>
      finish(new SealsyncError('ERR_CONNECTION_CLOSED', `cannot connect to ${canonical}: ${err.message}`, { address: canonical, errno: err.code ?? null, stage }));
    const timer = setTimeout(() => finish(new SealsyncError('ERR_TIMEOUT', `connecting to ${canonical} timed out`, { address: canonical, stage })), timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.once('close', () => finish(new SealsyncError('ERR_CONNECTION_CLOSED', `${canonical} closed the connection`, { address: canonical, stage })));
    socket.once('secureConnect', () => {
      try {
        remoteId = peerDeviceId(socket);
      } catch (err) {
        finish(err as SealsyncError);
        return;
      }
      if (socket.alpnProtocol !== ALPN_OF[opts.channel ?? 'sync']) {
        finish(new SealsyncError('ERR_PEER_IDENTITY', `${canonical} does not speak the ${opts.channel ?? 'sync'} channel`, { stage: 'tls' }));
        return;
      }
      if (opts.expectedDeviceId !== undefined && remoteId !== opts.expectedDeviceId) {
        finish(new SealsyncError('ERR_PEER_IDENTITY', `refused: the device at ${canonical} is ${remoteId}, not the pinned device ${opts.expectedDeviceId}`, {
          expected: opts.expectedDeviceId,
          actual: remoteId,
        }));
        return;
      }
      // Block requests are tiny frames: Nagle would hold them back waiting for ACKs.
      socket.setNoDelay(true);
      finish(null);
    });
  });
}

export interface SyncListenerOptions {
  /** `HOST:PORT` or `tcp://HOST:PORT`; port 0 picks a free port. */
  listen: string;
  identity: DeviceCredentials;
  /** Called once per authenticated incoming connection; the callee owns the socket from then on. */
  onConnection: (conn: SecureConnection) => void;
  /** Incoming connections on the device-linking channel; absent = they are refused. */
  onLinkConnection?: (conn: SecureConnection) => void;
  logger?: Logger;
  /** From the TCP accept to the peer's Hello (HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  maxConnections?: number;
  /** Caps on connections that joined no folder yet (a default ConnectionAdmission when absent). */
  admission?: ConnectionAdmission;
  /** Where refusals are logged (a RefusalLog over `logger` when absent). */
  refusals?: RefusalLog;
}

/** A TCP connection whose TLS handshake is not done yet. */
interface Handshaking {
  readonly raw: Socket;
  readonly ticket: AdmissionTicket;
  readonly deadline: number;
  readonly timer: NodeJS.Timeout;
}

/** Accepts TLS connections from peers. stop() closes the server and destroys every socket it accepted. */
export class SyncListener {
  private server: tls.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly secured = new Set<TLSSocket>();
  /** By `remoteAddress|remotePort` (unique among live connections; the TLS socket reports the same). */
  private readonly handshaking = new Map<string, Handshaking>();
  private readonly admission: ConnectionAdmission;
  private readonly refusals: RefusalLog | null;

  constructor(private readonly opts: SyncListenerOptions) {
    parseListenAddress(opts.listen);
    this.admission = opts.admission ?? new ConnectionAdmission();
    this.refusals = opts.refusals ?? (opts.logger ? new RefusalLog(opts.logger) : null);
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.server) return;
    opts.signal?.throwIfAborted();
    const { host, port } = parseListenAddress(this.opts.listen);
    const server = tls.createServer({
      ...tlsOptions(this.opts.identity, this.opts.onLinkConnection ? [ALPN_PROTOCOL, LINK_ALPN_PROTOCOL] : [ALPN_PROTOCOL]),
      requestCert: true,
      // Node's own handshake timeout only raises 'tlsClientError'; admit() destroys the socket
      // at the deadline instead (this one is left at its default, 120 s, as a backstop).
    });
    server.maxConnections = this.opts.maxConnections ?? MAX_INCOMING_CONNECTIONS;
    server.on('connection', (raw: Socket) => this.admit(raw));
    server.on('drop', (d?: { remoteAddress?: string }) => this.refusals?.note('too many connections', d?.remoteAddress ?? 'unknown'));
    // Node only reports a failed or timed-out handshake here; the socket would stay open.
    server.on('tlsClientError', (err, socket: TLSSocket) => {
      // Only for connections we admitted (a refused one fails here too, as we closed it).
      if (this.handshaking.has(`${socket.remoteAddress}|${socket.remotePort}`)) {
        this.refusals?.note(`TLS handshake failed: ${err.message}`, unmapped(socket.remoteAddress ?? 'unknown'), 'debug');
      }
      socket.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(listenFailure({ address: this.opts.listen, hint: 'choose another port' }, err));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.removeListener('error', onError);
        server.on('error', (err) => this.opts.logger?.warn({ err: err.message }, 'listener error'));
        resolve();
      });
    });
    this.server = server;
  }

  /** The real bound addresses, `tcp://host:port`. A wildcard bind lists each interface address. */
  addresses(): string[] {
    const a = this.server?.address();
    if (!a || typeof a === 'string') return [];
    if (a.address !== '0.0.0.0' && a.address !== '::') return [formatPeerAddress({ host: a.address, port: a.port })];
    const out: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const ni of list ?? []) {
        if (ni.family === 'IPv6' && (a.address === '0.0.0.0' || ni.scopeid)) continue;
        out.push(formatPeerAddress({ host: ni.address, port: a.port }));
      }
    }
    return out;
  }

  /** The bound port (0 when not listening). */
  port(): number {
    const a = this.server?.address();
    return a && typeof a !== 'string' ? a.port : 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const h of this.handshaking.values()) clearTimeout(h.timer);
    this.handshaking.clear();
    for (const s of this.secured) s.destroy();
    this.secured.clear();
    // Raw sockets still in their TLS handshake.
    for (const s of this.sockets) if (!s.destroyed) s.destroy();
    this.sockets.clear();
    this.refusals?.flush();
    await closed;
  }

  private handshakeTimeoutMs(): number {
    return this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  }

  /**
   * A raw TCP connection: admitted (a ticket) or closed at once, tracked from
   * the start so stop() also ends half-done handshakes, and destroyed if its
   * TLS handshake is not done by the deadline.
   */
  private admit(raw: Socket): void {
    const host = unmapped(raw.remoteAddress ?? 'unknown');
    const ticket = this.admission.admit(host);
    if (typeof ticket === 'string') {
      this.refusals?.note(ticket, host);
      raw.destroy();
      return;
    }
    this.sockets.add(raw);
    const key = `${raw.remoteAddress}|${raw.remotePort}`;
    const timeoutMs = this.handshakeTimeoutMs();
    const timer = setTimeout(() => {
      this.refusals?.note('TLS handshake not done in time', host, 'debug');
      raw.destroy();
    }, timeoutMs);
    this.handshaking.set(key, { raw, ticket, deadline: Date.now() + timeoutMs, timer });
    raw.once('close', () => {
      clearTimeout(timer);
      if (this.handshaking.get(key)?.raw === raw) this.handshaking.delete(key);
      this.sockets.delete(raw);
      ticket.release();
    });
  }

  private accept(socket: TLSSocket): void {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const h = this.handshaking.get(key);
    if (!h) {
      // Its TCP side is gone already (or it was never admitted): nothing to hand out.
      socket.destroy();
      return;
    }
    this.handshaking.delete(key);
    clearTimeout(h.timer);
    this.secured.add(socket);
    socket.once('close', () => this.secured.delete(socket));
    let remoteDeviceId: string;
    try {
      remoteDeviceId = peerDeviceId(socket);
    } catch (err) {
      this.refusals?.note(`bad peer identity: ${(err as Error).message}`, unmapped(socket.remoteAddress ?? 'unknown'), 'debug');
      socket.destroy();
      return;
    }
    // Until the owner attaches its own handler, an error must not crash the process.
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const conn: SecureConnection = {
      socket, remoteDeviceId, address: remoteAddressOf(socket), direction: 'incoming', admission: h.ticket, handshakeDeadline: h.deadline,
    };
    if (socket.alpnProtocol === LINK_ALPN_PROTOCOL) {
      if (this.opts.onLinkConnection) this.opts.onLinkConnection(conn);
      else socket.destroy();
      return;
    }
    this.opts.onConnection(conn);
  }
}

function unmapped(host: string): string {
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

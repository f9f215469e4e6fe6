/**
 * The ConnectionManager owns this device's side of the network: the listener
 * for incoming peers, a dialler for every known address, and at most one
 * PeerSession per remote device.
 *
 * How this works
 * --------------
 * Dialling: each known address (`tcp://HOST:PORT`, changeable at runtime) has
 * a target with its own backoff. A target is dialled at once when added, and
 * again after a failure (1 s → 60 s, doubling, with jitter) or after its
 * session closes. A target whose device is already connected (through another
 * address or an incoming connection) is not dialled; it is rescheduled when
 * that session closes. A target that turns out to be this device is retried
 * only at the slowest rate (an address can be reassigned).
 *
 * Dedupe: when two devices dial each other at the same time, both end up with
 * two sessions. Both keep the one dialled by the device with the smaller id
 * (each side computes the same answer without talking) and close the other
 * with Close(duplicate): MAX_SESSIONS_PER_DEVICE is one, whatever the address.
 *
 * Incoming connections that joined no folder are capped by the listener's
 * admission (total and per source address, transport.ts); sessions among them
 * past their Hello are further limited to MAX_IDLE_INCOMING_SESSIONS, oldest
 * closed first. Refusals and failed handshakes go to one rate-limited log.
 *
 * Lifecycle: 'session' fires when a session is registered, before it is
 * started, so listeners attached in the handler see every 'joined' and
 * 'index' event; 'session-closed' fires when a registered session ends.
 * stop() aborts dials and handshakes, closes every session and the listener,
 * and clears every timer.
 *
 * Why one class of over 400 lines: dialling, adopting incoming sessions and
 * dedupe all read and change the same two maps (targets by address, sessions
 * by device) and the same running flag, and stop() must find every dial and
 * handshake still in flight; split, each part would hold the other's maps.
 * What stands alone lives apart: the listener and its admission
 * (transport.ts), the refusal log (refusal-log.ts), the session itself
 * (session.ts).
 */
import { EventEmitter } from 'node:events';
import { SealsyncError, describeError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { Backoff, BACKOFF_MAX_MS, BACKOFF_MIN_MS } from './backoff.js';
import { ConnectionAdmission } from './admission.js';
import { MAX_IDLE_INCOMING_SESSIONS } from './limits.js';
import { dialFailureReason, type DialFailureReason } from './peer-problem.js';
import { normalizePeerAddress } from './peer-address.js';
import { RefusalLog } from './refusal-log.js';
import { PeerSession, type FolderDirectory, type PeerSessionOptions } from './session.js';
import { SyncListener, dial, type DeviceCredentials, type SecureConnection } from './transport.js';

/** A session that lasted this long resets its target's backoff when it ends. */
export const STABLE_SESSION_MS = 10_000;
export const MAX_PEER_ADDRESSES = 1024;
/** Byte totals are kept for this many devices that have disconnected (oldest forgotten first). */
export const MAX_REMEMBERED_DEVICES = 1024;

export interface PeerTarget {
  address: string;
  /** Pin: refuse any other device at this address. */
  deviceId?: string;
}

export interface PeerStatus {
  /** Device id; '' for an address never reached. */
  id: string;
  name: string;
  address: string;
  connected: boolean;
  inBytes: number;
  outBytes: number;
  inRate: number;
  outRate: number;
  /** Last dial error for an address that is not connected. */
  lastError?: string;
  /** Its kind (peer-problem.ts). */
  lastErrorReason?: DialFailureReason;
  /** Last dial attempt and the next one scheduled (ms since the epoch), for an address that is not connected. */
  lastAttemptAt?: number;
  nextAttemptAt?: number;
}

export interface ConnectionManagerOptions {
  identity: DeviceCredentials;
  localName: string;
  directory: FolderDirectory;
  /** `HOST:PORT` to listen on (port 0 picks one); null or absent = do not listen. */
  listen?: string | null;
  addresses?: readonly (string | PeerTarget)[];
  logger?: Logger;
  /** Passed to every PeerSession (limits, rate limits, clock). */
  session?: Partial<Omit<PeerSessionOptions, 'directory' | 'localName'>>;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  dialTimeoutMs?: number;
  random?: () => number;
  /** Caps on incoming connections that joined no folder (tests pass smaller ones). */
  admission?: ConnectionAdmission;
  /** Incoming connections on the device-linking channel (invites, keyring); absent = refused. */
  onLinkConnection?: (conn: SecureConnection) => void;
}

interface DialTarget {
  address: string;
  pinnedId: string | undefined;
  learnedId: string | undefined;
  lastName: string;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  lastError: string | undefined;
  lastErrorReason: DialFailureReason | undefined;
  lastAttemptAt: number | undefined;
  nextAttemptAt: number | undefined;
  isSelf: boolean;
}

interface Totals {
  inBytes: number;
  outBytes: number;
  name: string;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export declare interface ConnectionManager {
  on(event: 'session', listener: (session: PeerSession) => void): this;
  on(event: 'session-closed', listener: (session: PeerSession, err?: SealsyncError) => void): this;
  /** An address added without a device id reached its first device, which is now pinned (trust on first use). */
  on(event: 'pinned', listener: (address: string, deviceId: string) => void): this;
  on(event: string, listener: (...args: never[]) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ConnectionManager extends EventEmitter {
  private readonly log: Logger;
  private readonly targets = new Map<string, DialTarget>();
  private readonly bySession = new Map<string, PeerSession>();
  private readonly startedAt = new WeakMap<PeerSession, number>();
  /** Bytes of sessions that have ended, so counters survive reconnects. */
  private readonly totals = new Map<string, Totals>();
  private readonly handshakes = new Set<AbortController>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private listener: SyncListener | null = null;
  private running = false;
  /** Device ids refused whatever the address (unlinked devices). */
  private refused: ReadonlySet<string> = new Set();
  private readonly refusals: RefusalLog;
  readonly admission: ConnectionAdmission;

  constructor(private readonly opts: ConnectionManagerOptions) {
    super();
    this.log = (opts.logger ?? silentLogger()).child({ component: 'net' });
    this.refusals = new RefusalLog(this.log);
    this.admission = opts.admission ?? new ConnectionAdmission();
    this.setAddresses(opts.addresses ?? []);
  }

  get localDeviceId(): string {
    return this.opts.identity.deviceId;
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.running) return;
    if (this.opts.listen) {
      const listener = new SyncListener({
        listen: this.opts.listen,
        identity: this.opts.identity,
        logger: this.log,
        admission: this.admission,
        refusals: this.refusals,
        ...(this.opts.session?.limits?.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.opts.session.limits.handshakeTimeoutMs } : {}),
        onConnection: (conn) => this.onIncoming(conn),
        ...(this.opts.onLinkConnection ? { onLinkConnection: this.opts.onLinkConnection } : {}),
      });
      await listener.start(opts);
      this.listener = listener;
    }
    this.running = true;
    for (const t of this.targets.values()) this.schedule(t, 0);
  }

  async stop(): Promise<void> {
    if (!this.running && !this.listener) return;
    this.running = false;
    for (const t of this.targets.values()) this.cancel(t);
    for (const a of this.handshakes) a.abort();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.bySession.values()].map((s) => s.close('shutdown')));
    await this.listener?.stop();
    this.listener = null;
  }

  /** The real bound listen addresses (`tcp://host:port`). */
  listenAddresses(): string[] {
    return this.listener?.addresses() ?? [];
  }

  /**
   * Replaces the list of addresses to dial. Every entry is validated first
   * (ERR_ADDRESS), so a bad entry changes nothing. Sessions stay up: removing
   * an address only stops redialling it (and drops a dial still in flight);
   * forgetAddresses() also ends the sessions.
   */
  setAddresses(list: readonly (string | PeerTarget)[]): void {
    if (list.length > MAX_PEER_ADDRESSES) throw new SealsyncError('ERR_ADDRESS', `at most ${MAX_PEER_ADDRESSES} peer addresses`);
    const wanted = new Map<string, string | undefined>();
    for (const entry of list) {
      const t = typeof entry === 'string' ? { address: entry } : entry;
      wanted.set(normalizePeerAddress(t.address), t.deviceId);
    }
    for (const [address, t] of this.targets) {
      const want = wanted.get(address);
      // An unpinned entry keeps the pin its target learned on first use.
      if (!wanted.has(address) || (want !== undefined && want !== t.pinnedId)) {
        this.cancel(t);
        this.targets.delete(address);
      }
    }
    for (const [address, pinnedId] of wanted) {
      if (this.targets.has(address)) continue;
      const t: DialTarget = {
        address,
        pinnedId,
        learnedId: pinnedId,
        lastName: '',
        backoff: new Backoff(this.opts.backoffMinMs ?? BACKOFF_MIN_MS, this.opts.backoffMaxMs ?? BACKOFF_MAX_MS, this.opts.random),
        timer: null,
        abort: null,
        lastError: undefined,
        lastErrorReason: undefined,
        lastAttemptAt: undefined,
        nextAttemptAt: undefined,
        isSelf: false,
      };
      this.targets.set(address, t);
      if (this.running) this.schedule(t, 0);
    }
  }

  /**
   * Forgets peer addresses (`peer remove`): stops dialling them, aborts dials in
   * flight, and ends the session with every device they led to, unless another
   * wanted address leads there too. A dial that completes after this is
   * dropped by attempt(). Unknown addresses are ignored. Returns the device ids
   * disconnected.
   */
  async forgetAddresses(list: readonly string[]): Promise<string[]> {
    const drop = new Set(list.map((a) => normalizePeerAddress(a)));
    const ids = new Set<string>();
    for (const address of drop) {
      const t = this.targets.get(address);
      if (!t) continue;
      this.cancel(t);
      this.targets.delete(address);
      if (t.learnedId) ids.add(t.learnedId);
    }
    // Outgoing sessions dialled through a dropped address whose target never learned the id.
    for (const [id, s] of this.bySession) if (s.direction === 'outgoing' && drop.has(s.address)) ids.add(id);
    for (const t of this.targets.values()) if (t.learnedId) ids.delete(t.learnedId);
    const closed = [...ids].filter((id) => this.bySession.has(id));
    await Promise.allSettled(closed.map((id) => this.bySession.get(id)?.close('normal')));
    return closed;
  }

  addresses(): string[] {
    return [...this.targets.keys()];
  }

  /** The device pinned at each address that has one (configured or learned on first use). */
  pins(): Map<string, string> {
    const out = new Map<string, string>();
    for (const t of this.targets.values()) if (t.pinnedId !== undefined) out.set(t.address, t.pinnedId);
    return out;
  }

  /**
   * Device ids refused from now on, incoming or dialled, whatever their
   * address (an unlinked device). Open sessions with them are closed.
   */
  setRefusedDevices(ids: Iterable<string>): void {
    this.refused = new Set(ids);
    for (const [id, s] of this.bySession) if (this.refused.has(id)) void s.close('normal');
  }

  sessions(): PeerSession[] {
    return [...this.bySession.values()];
  }

  session(deviceId: string): PeerSession | undefined {
    return this.bySession.get(deviceId);
  }

  /**
   * Bandwidth limits from now on (settings changed at runtime): every open
   * session is retuned and new sessions start with them. Absent or 0 = unlimited.
   */
  setRateLimit(limit: { inBytesPerSec?: number; outBytesPerSec?: number }): void {
    const clean = {
      ...(limit.inBytesPerSec && limit.inBytesPerSec > 0 ? { inBytesPerSec: limit.inBytesPerSec } : {}),
      ...(limit.outBytesPerSec && limit.outBytesPerSec > 0 ? { outBytesPerSec: limit.outBytesPerSec } : {}),
    };
    this.opts.session = { ...this.opts.session, rateLimit: clean };
    for (const s of this.bySession.values()) s.setRateLimit(clean);
  }

  /** The name sent in the Hello of sessions that start from now on (open sessions keep the one they announced). */
  setLocalName(name: string): void {
    this.opts.localName = name;
  }

  /** Tell every session that this device's folder list changed (join new, leave removed). */
  refreshFolders(): void {
    for (const s of this.bySession.values()) s.refreshFolders();
  }

  /** Closes the session with a device (it may reconnect later if an address points to it). */
  async disconnect(deviceId: string): Promise<void> {
    await this.bySession.get(deviceId)?.close('normal');
  }

  /** Devices with an open session now. */
  connectedCount(): number {
    return this.bySession.size;
  }

  peerStatus(): PeerStatus[] {
    const rows: PeerStatus[] = [];
    const seen = new Set<string>();
    for (const [id, s] of this.bySession) {
      const st = s.stats();
      const past = this.totals.get(id);
      seen.add(id);
      rows.push({
        id,
        name: s.remoteName,
        address: this.dialAddressOf(id) ?? s.address,
        connected: true,
        inBytes: st.inBytes + (past?.inBytes ?? 0),
        outBytes: st.outBytes + (past?.outBytes ?? 0),
        inRate: st.inRate,
        outRate: st.outRate,
      });
    }
    for (const t of this.targets.values()) {
      const id = t.learnedId ?? '';
      if (id && seen.has(id)) continue;
      if (id) seen.add(id);
      const past = id ? this.totals.get(id) : undefined;
      const row: PeerStatus = {
        id,
        name: past?.name ?? t.lastName,
        address: t.address,
        connected: false,
        inBytes: past?.inBytes ?? 0,
        outBytes: past?.outBytes ?? 0,
        inRate: 0,
        outRate: 0,
      };
      if (t.lastError) row.lastError = t.lastError;
      if (t.lastErrorReason) row.lastErrorReason = t.lastErrorReason;
      if (t.lastAttemptAt !== undefined) row.lastAttemptAt = t.lastAttemptAt;
      if (t.timer && t.nextAttemptAt !== undefined) row.nextAttemptAt = t.nextAttemptAt;
      rows.push(row);
    }
    return rows;
  }

  // -------------------------------------------------------------------------
  // dialling

  private schedule(t: DialTarget, delayMs: number): void {
    if (!this.running || this.targets.get(t.address) !== t || t.timer || t.abort) return;
    t.nextAttemptAt = Date.now() + delayMs;
    t.timer = setTimeout(() => {
      t.timer = null;
      this.track(this.attempt(t));
    }, delayMs);
  }

  /** Still a target to dial (not removed by setAddresses/forgetAddresses, not stopping). */
  private wanted(t: DialTarget): boolean {
    return this.running && this.targets.get(t.address) === t;
  }

  private cancel(t: DialTarget): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    t.abort?.abort();
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async attempt(t: DialTarget): Promise<void> {
    if (!this.wanted(t)) return;
    // Already connected to the device behind this address: wait for that session to end.
    if (t.learnedId && this.bySession.has(t.learnedId)) return;
    const abort = new AbortController();
    t.abort = abort;
    t.lastAttemptAt = Date.now();
    try {
      const conn = await dial(t.address, {
        identity: this.opts.identity,
        expectedDeviceId: t.pinnedId,
        signal: abort.signal,
        timeoutMs: this.opts.dialTimeoutMs,
      });
      t.learnedId = conn.remoteDeviceId;
      if (conn.remoteDeviceId === this.localDeviceId) {
        conn.socket.destroy();
        t.isSelf = true;
        throw new SealsyncError('ERR_ADDRESS', 'this address is this device');
      }
      if (this.refused.has(conn.remoteDeviceId)) {
        conn.socket.destroy();
        throw new SealsyncError('ERR_PEER_IDENTITY', `refused: the device at ${t.address} (${conn.remoteDeviceId}) was unlinked`);
      }
      if (t.pinnedId === undefined) {
        // Trust on first use: from now on only this device is accepted at this address.
        t.pinnedId = conn.remoteDeviceId;
        this.log.info({ address: t.address, deviceId: conn.remoteDeviceId }, 'pinned the first device that answered (trust on first use)');
        this.emit('pinned', t.address, conn.remoteDeviceId);
      }
      const session = await PeerSession.open(conn, this.sessionOptions(), { signal: abort.signal });
      if (!this.wanted(t) || abort.signal.aborted) {
        // The address was removed (or we are stopping) while the handshake ran: never keep that session.
        t.abort = null;
        await session.close('normal').catch(() => undefined);
        return;
      }
      t.lastName = session.remoteName;
      t.lastError = undefined;
      t.lastErrorReason = undefined;
      t.abort = null;
      this.adopt(session);
      // Closed before it could be registered, and no other connection to that device: try again later.
      if (!this.bySession.has(conn.remoteDeviceId)) this.schedule(t, t.backoff.next());
    } catch (err) {
      t.abort = null;
      if (!this.running || abort.signal.aborted) return;
      t.lastError = describeError(err);
      t.lastErrorReason = dialFailureReason(err);
      const delay = t.isSelf ? (this.opts.backoffMaxMs ?? BACKOFF_MAX_MS) : t.backoff.next();
      this.log.debug({ address: t.address, err: t.lastError, retryMs: delay }, 'dial failed');
      this.schedule(t, delay);
    }
  }

  private sessionOptions(): PeerSessionOptions {
    return { ...this.opts.session, localName: this.opts.localName, directory: this.opts.directory, logger: this.log };
  }

  // -------------------------------------------------------------------------
  // incoming

  private onIncoming(conn: SecureConnection): void {
    if (!this.running || conn.remoteDeviceId === this.localDeviceId) {
      if (this.running) this.refusals.note('a connection from this device itself', conn.address, 'debug');
      conn.socket.destroy();
      return;
    }
    if (this.refused.has(conn.remoteDeviceId)) {
      this.refusals.note('a connection from an unlinked device', conn.address);
      conn.socket.destroy();
      return;
    }
    const abort = new AbortController();
    this.handshakes.add(abort);
    this.track(
      PeerSession.open(conn, this.sessionOptions(), { signal: abort.signal })
        .then((s) => (this.running ? this.adopt(s) : void s.close('shutdown')))
        .catch((err) => this.refusals.note(`handshake failed: ${describeError(err)}`, conn.address, 'debug'))
        .finally(() => this.handshakes.delete(abort)),
    );
  }

  // -------------------------------------------------------------------------
  // sessions

  /** True when `s` is the connection both sides keep: the one dialled by the smaller device id. */
  private preferred(s: PeerSession): boolean {
    const dialler = s.direction === 'outgoing' ? this.localDeviceId : s.remoteDeviceId;
    const smaller = this.localDeviceId < s.remoteDeviceId ? this.localDeviceId : s.remoteDeviceId;
    return dialler === smaller;
  }

  private adopt(s: PeerSession): void {
    // It may have closed between its handshake and now; its 'closed' has fired already.
    if (!s.isOpen) return;
    const id = s.remoteDeviceId;
    const existing = this.bySession.get(id);
    if (existing) {
      if (this.preferred(s) && !this.preferred(existing)) {
        this.log.debug({ peer: id.slice(0, 16) }, 'duplicate connection: keeping the new one');
        void existing.close('duplicate');
        this.forget(existing);
      } else {
        this.log.debug({ peer: id.slice(0, 16) }, 'duplicate connection: keeping the existing one');
        void s.close('duplicate');
        return;
      }
    }
    this.bySession.set(id, s);
    this.startedAt.set(s, Date.now());
    for (const t of this.targets.values()) {
      if (t.address === s.address && s.direction === 'outgoing') t.learnedId = id;
    }
    s.once('closed', (err?: SealsyncError) => {
      const mine = this.bySession.get(id) === s;
      this.forget(s);
      if (mine) this.emit('session-closed', s, err);
      this.redialDevice(id, s);
    });
    try {
      this.emit('session', s);
    } catch (err) {
      // A listener's bug must not leave a registered session that never starts.
      this.log.error({ err }, "a 'session' listener threw");
    }
    s.start();
    if (s.direction === 'incoming') this.limitIdleIncoming();
  }

  /** The known address that leads to a device, if any (more useful in status than an ephemeral port). */
  private dialAddressOf(deviceId: string): string | undefined {
    for (const t of this.targets.values()) if (t.learnedId === deviceId) return t.address;
    return undefined;
  }

  /** Closes the oldest incoming sessions that share no folder, beyond MAX_IDLE_INCOMING_SESSIONS. */
  private limitIdleIncoming(): void {
    const idle = [...this.bySession.values()].filter((x) => x.direction === 'incoming' && x.joinedFolders().length === 0);
    // bySession keeps insertion order: the first entries are the oldest.
    for (const x of idle.slice(0, Math.max(0, idle.length - MAX_IDLE_INCOMING_SESSIONS))) void x.close('normal');
  }

  /** Unregisters a session and banks its byte counters. */
  private forget(s: PeerSession): void {
    const id = s.remoteDeviceId;
    if (this.bySession.get(id) !== s) return;
    this.bySession.delete(id);
    const st = s.stats();
    const past = this.totals.get(id) ?? { inBytes: 0, outBytes: 0, name: '' };
    this.totals.delete(id); // re-insert: the map's order is least recently seen first
    this.totals.set(id, { inBytes: past.inBytes + st.inBytes, outBytes: past.outBytes + st.outBytes, name: s.remoteName || past.name });
    while (this.totals.size > MAX_REMEMBERED_DEVICES) {
      const oldest = this.totals.keys().next().value;
      if (oldest === undefined) break;
      this.totals.delete(oldest);
    }
  }

  private redialDevice(id: string, ended: PeerSession): void {
    if (!this.running || this.bySession.has(id)) return;
    const lasted = Date.now() - (this.startedAt.get(ended) ?? Date.now());
    for (const t of this.targets.values()) {
      if (t.learnedId !== id) continue;
      if (lasted >= STABLE_SESSION_MS) t.backoff.reset();
      this.schedule(t, t.backoff.next());
    }
  }
}

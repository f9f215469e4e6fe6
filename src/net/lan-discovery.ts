/**
 * LAN discovery over UDP multicast (docs/security.md, "LAN discovery";
 * the announcement format is src/crypto/discovery.ts).
 *
 * How this works
 * --------------
 * Every ANNOUNCE_INTERVAL_MS, and once at start, the service sends one or
 * more fixed-size packets to DISCOVERY_GROUP:DISCOVERY_PORT on every IPv4
 * interface that can multicast, with one entry per secret this device holds
 * (each folder's access secret, the keyring secret). A received packet is
 * split into entries; an entry whose tag is one of ours for this period (or
 * the one before or after, for clocks a little apart) is opened, and the
 * device id and port inside, with the packet's source address, are reported
 * through `onFound` (the daemon dials it, pinned to that id). Hearing an
 * unknown device makes us answer at once (at most once per
 * MIN_REPLY_INTERVAL_MS), so two devices find each other in about a round
 * trip rather than an interval.
 *
 * The clock is injected (`now`); the socket is behind DiscoveryTransport, so
 * tests can capture what is sent. stop() closes the socket and clears every
 * timer: with discovery off nothing is sent and nothing listens.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { formatDeviceId, parseDeviceId } from '../crypto/device-id.js';
import {
  ANNOUNCE_ENTRY_BYTES, ANNOUNCE_ENTRIES, DISCOVERY_PERIOD_MS, DISCOVERY_TAG_BYTES, announcementPackets, discoveryPeriod,
  openAnnouncementEntry, periodKeys, sealAnnouncementEntry, type PeriodKeys,
} from '../crypto/discovery.js';
import { toHex } from '../crypto/bytes.js';
import { silentLogger, type Logger } from '../logger.js';
import { formatPeerAddress } from './peer-address.js';

/** An administratively scoped group (RFC 2365): it does not leave the site. */
export const DISCOVERY_GROUP = '239.255.83.83';
export const DISCOVERY_PORT = 21026;
export const ANNOUNCE_INTERVAL_MS = 30_000;
/** The shortest period `SEALSYNC_DISCOVERY_PERIOD_MS` may set (announcements every quarter of it). */
export const MIN_TEST_PERIOD_MS = 2_000;
const MIN_REPLY_INTERVAL_MS = 2_000;
/** At most this many secrets are announced (and looked up): MAX_FOLDERS plus the keyring fits. */
const MAX_SECRETS = 1024;

export interface DiscoveryTiming {
  readonly periodMs: number;
  readonly intervalMs: number;
  /** Set when the variable was set but refused: the daemon logs it and keeps the defaults. */
  readonly problem?: string;
}

/**
 * Tests only: `SEALSYNC_DISCOVERY_PERIOD_MS` shortens the discovery period
 * (an integer from MIN_TEST_PERIOD_MS to just under DISCOVERY_PERIOD_MS), so
 * an end-to-end test can capture a real daemon's announcements over two
 * periods in seconds; announcements then go out every quarter period, so
 * each period holds several. Unset: the defaults. Anything else (not an
 * integer, out of range, longer than the real period) is refused with a
 * reason and the defaults stay: the variable can never lengthen the time an
 * observer may link announcements.
 */
export function discoveryTimingFromEnv(env: NodeJS.ProcessEnv = process.env): DiscoveryTiming {
  const defaults = { periodMs: DISCOVERY_PERIOD_MS, intervalMs: ANNOUNCE_INTERVAL_MS };
  const raw = env['SEALSYNC_DISCOVERY_PERIOD_MS'];
  if (raw === undefined || raw === '') return defaults;
  const v = /^[0-9]{1,10}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(v) || v < MIN_TEST_PERIOD_MS || v >= DISCOVERY_PERIOD_MS) {
    return { ...defaults, problem: `SEALSYNC_DISCOVERY_PERIOD_MS must be whole milliseconds from ${MIN_TEST_PERIOD_MS} to ${DISCOVERY_PERIOD_MS - 1}; ignored` };
  }
  return { periodMs: v, intervalMs: Math.min(ANNOUNCE_INTERVAL_MS, Math.floor(v / 4)) };
}

export interface DiscoveryTransport {
  send(packet: Uint8Array): void;
  close(): void;
}

export interface LanDiscoveryOptions {
  /** This device's id (text) and the port it accepts peers on. */
  readonly deviceId: string;
  readonly port: () => number;
  /** Every secret to announce and listen for, read at each announcement. */
  readonly secrets: () => readonly Uint8Array[];
  readonly onFound: (address: string, deviceId: string) => void;
  readonly now?: () => number;
  readonly periodMs?: number;
  readonly intervalMs?: number;
  readonly logger?: Logger;
  /** Tests: where packets go and come from; default UDP multicast. */
  readonly transport?: (onPacket: (packet: Uint8Array, from: string) => void) => Promise<DiscoveryTransport>;
}

export class LanDiscovery {
  private transport: DiscoveryTransport | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastReply = 0;
  private table = new Map<string, PeriodKeys>();
  private tablePeriod = -1;
  private tableSecrets = '';
  private readonly self: Uint8Array;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: LanDiscoveryOptions) {
    this.self = parseDeviceId(opts.deviceId);
    this.now = opts.now ?? Date.now;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'net:discovery' });
  }

  async start(): Promise<void> {
    if (this.transport) return;
    const open = this.opts.transport ?? udpMulticastTransport;
    this.transport = await open((packet, from) => this.receive(packet, from));
    this.announce();
    this.timer = setInterval(() => this.announce(), this.opts.intervalMs ?? ANNOUNCE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.transport?.close();
    this.transport = null;
  }

  /** Sends this period's announcement now. */
  announce(): void {
    const transport = this.transport;
    const port = this.opts.port();
    if (!transport || port === 0) return;
    const period = discoveryPeriod(this.now(), this.opts.periodMs ?? DISCOVERY_PERIOD_MS);
    const entries = this.secrets().map((s) => sealAnnouncementEntry(periodKeys(s, period), this.self, port));
    if (entries.length === 0) return;
    for (const packet of announcementPackets(entries)) transport.send(packet);
  }

  private secrets(): readonly Uint8Array[] {
    return this.opts.secrets().slice(0, MAX_SECRETS);
  }

  /** Tag (hex) -> keys, for the periods around now; rebuilt when the period or the secrets change. */
  private lookup(): Map<string, PeriodKeys> {
    const period = discoveryPeriod(this.now(), this.opts.periodMs ?? DISCOVERY_PERIOD_MS);
    const secrets = this.secrets();
    const fingerprint = secrets.map((s) => toHex(s.subarray(0, 4))).join(',');
    if (period !== this.tablePeriod || fingerprint !== this.tableSecrets) {
      const table = new Map<string, PeriodKeys>();
      for (const s of secrets) {
        for (const p of [period - 1, period, period + 1]) {
          const k = periodKeys(s, p);
          table.set(toHex(k.tag), k);
        }
      }
      this.table = table;
      this.tablePeriod = period;
      this.tableSecrets = fingerprint;
    }
    return this.table;
  }

  private receive(packet: Uint8Array, from: string): void {
    if (packet.byteLength === 0 || packet.byteLength % ANNOUNCE_ENTRY_BYTES !== 0 || packet.byteLength > 2 * ANNOUNCE_ENTRIES * ANNOUNCE_ENTRY_BYTES) return;
    const table = this.lookup();
    const found = new Map<string, number>();
    for (let off = 0; off < packet.byteLength; off += ANNOUNCE_ENTRY_BYTES) {
      const entry = packet.subarray(off, off + ANNOUNCE_ENTRY_BYTES);
      const keys = table.get(toHex(entry.subarray(0, DISCOVERY_TAG_BYTES)));
      if (!keys) continue;
      const opened = openAnnouncementEntry(keys, entry);
      if (!opened) continue;
      const id = formatDeviceId(opened.deviceId);
      if (id !== this.opts.deviceId) found.set(id, opened.port);
    }
    for (const [id, port] of found) {
      let address: string;
      try { address = formatPeerAddress({ host: from, port }); } catch { continue; }
      this.log.debug({ peer: id.slice(0, 16), address }, 'found a device on the LAN');
      this.opts.onFound(address, id);
    }
    if (found.size > 0 && this.now() - this.lastReply >= MIN_REPLY_INTERVAL_MS) {
      this.lastReply = this.now();
      this.announce();
    }
  }
}

/** IPv4 addresses of interfaces that can carry multicast (not loopback). */
function multicastInterfaces(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) if (ni.family === 'IPv4' && !ni.internal) out.push(ni.address);
  }
  return out;
}

/** The real transport: one UDP socket on DISCOVERY_PORT in DISCOVERY_GROUP on every interface. */
export async function udpMulticastTransport(onPacket: (packet: Uint8Array, from: string) => void): Promise<DiscoveryTransport> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (msg, rinfo) => onPacket(new Uint8Array(msg), rinfo.address));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(DISCOVERY_PORT, () => { socket.removeListener('error', reject); resolve(); });
  });
  const interfaces = multicastInterfaces();
  for (const ifc of interfaces) {
    try { socket.addMembership(DISCOVERY_GROUP, ifc); } catch { /* an interface without multicast */ }
  }
  socket.setMulticastTTL(1);
  socket.setMulticastLoopback(false);
  return {
    // One interface at a time: the outgoing interface is a socket option, and a send may complete later.
    send: (packet) => {
      const next = (i: number): void => {
        const ifc = interfaces[i];
        if (ifc === undefined) return;
        try {
          socket.setMulticastInterface(ifc);
          socket.send(packet, DISCOVERY_PORT, DISCOVERY_GROUP, () => next(i + 1));
        } catch { /* closed, or the interface went away */ }
      };
      next(0);
    },
    close: () => socket.close(),
  };
}

/**
 * Tools for the network security suites (test/e2e/security-net*.test.ts):
 * what an attacker on the LAN or a folder member does to a running daemon,
 * and what the suites measure while it does.
 *
 * - `silentSockets` / `clientHelloThenSilence`: plain TCP connections that
 *   say nothing, or one real TLS ClientHello and then nothing; each records
 *   when the daemon closed it.
 * - `rssMiB(pid)`: the daemon's resident memory (VmRSS in /proc).
 * - `assertStatusAnswers(h)`: `status` answers within 2 s.
 * - `legitPeerJoins`: an honest peer (a real TLS client with its own device
 *   certificate, from a given source address) says Hello, joins the folder
 *   with the right proof and receives the daemon's index.
 * - `joinedAttacker`: a HostileClient past Hello and Join, for attacks only
 *   a folder member can make.
 *
 * Every loop here is bounded in count and time; sockets are loopback only.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import type { FolderKeys } from '../../../src/crypto/index.js';
import { HostileClient } from '../../../src/net/testing/hostile-client.js';
import { testIdentity } from '../../../src/net/testing/fixtures.js';
import { ALPN_PROTOCOL } from '../../../src/net/transport.js';
import { parsePeerAddress } from '../../../src/net/peer-address.js';
import type { TestHome } from './harness.js';

/** What `status` must answer within while an attack runs. */
export const STATUS_DEADLINE_MS = 2000;

/** The daemon's resident set size in MiB (VmRSS of /proc/PID/status). */
export async function rssMiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** Asserts that `status` answers within STATUS_DEADLINE_MS; returns how long it took. */
export async function assertStatusAnswers(h: TestHome): Promise<number> {
  const t0 = Date.now();
  const s = await h.client.status({ timeoutMs: STATUS_DEADLINE_MS });
  const ms = Date.now() - t0;
  assert.ok(s.device.id.length > 0, 'status has a device');
  assert.ok(ms < STATUS_DEADLINE_MS, `status took ${ms} ms`);
  return ms;
}

/** A connection an attacker opened; `closedAfterMs` is set once the daemon closed it. */
export interface AttackSocket {
  readonly socket: net.Socket;
  /** When the TCP connection was established (the daemon's accept). */
  openedAt: number;
  closedAfterMs: number | null;
}

function track(socket: net.Socket): AttackSocket {
  const entry: AttackSocket = { socket, openedAt: Date.now(), closedAfterMs: null };
  socket.on('error', () => undefined);
  // Read (and drop) what the daemon sends: a paused socket would never see its FIN.
  socket.resume();
  socket.once('close', () => {
    entry.closedAfterMs = Date.now() - entry.openedAt;
  });
  return entry;
}

/** Opens `count` TCP connections from `localAddress` that never send a byte. Resolves once all are connected or closed. */
export async function silentSockets(address: string, count: number, localAddress = '127.0.0.1'): Promise<AttackSocket[]> {
  const { host, port } = parsePeerAddress(address);
  const out: AttackSocket[] = [];
  const settled: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host, port, localAddress });
    const entry = track(socket);
    // Counted from the accept, not from when connect() was called.
    settled.push(new Promise<void>((resolve) => {
      socket.once('connect', () => {
        entry.openedAt = Date.now();
        resolve();
      });
      socket.once('close', () => resolve());
    }));
    out.push(entry);
  }
  await Promise.all(settled);
  return out;
}

let helloBytes: Promise<Buffer> | null = null;

/** The bytes of a real sealsync ClientHello (TLS 1.3, ALPN, our certificate), captured once. */
export function clientHello(): Promise<Buffer> {
  helloBytes ??= (async () => {
    const identity = await testIdentity('hello-capture');
    return new Promise<Buffer>((resolve, reject) => {
      const server = net.createServer((s) => {
        s.once('data', (chunk: Buffer) => {
          resolve(Buffer.from(chunk));
          s.destroy();
          server.close();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const c = tls.connect({
          host: '127.0.0.1', port, key: identity.privateKeyPem, cert: identity.certificatePem,
          minVersion: 'TLSv1.3', ALPNProtocols: [ALPN_PROTOCOL], rejectUnauthorized: false, servername: '',
        });
        c.on('error', () => undefined);
        setTimeout(() => reject(new Error('no ClientHello captured')), 5000).unref();
      });
    });
  })();
  return helloBytes;
}

/** Opens `count` TCP connections that send one ClientHello and then nothing. */
export async function clientHelloThenSilence(address: string, count: number, localAddress = '127.0.0.1'): Promise<AttackSocket[]> {
  const hello = await clientHello();
  const sockets = await silentSockets(address, count, localAddress);
  for (const s of sockets) if (s.closedAfterMs === null) s.socket.write(hello);
  return sockets;
}

/** Waits until every socket is closed, or `ms` passed; returns the ones still open. */
export async function waitAllClosed(sockets: readonly AttackSocket[], ms: number): Promise<AttackSocket[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && sockets.some((s) => s.closedAfterMs === null)) await new Promise((r) => setTimeout(r, 50));
  return sockets.filter((s) => s.closedAfterMs === null);
}

/** Connections still open right now. */
export function openCount(sockets: readonly AttackSocket[]): number {
  return sockets.filter((s) => s.closedAfterMs === null).length;
}

export function destroyAll(sockets: readonly AttackSocket[]): void {
  for (const s of sockets) s.socket.destroy();
}

/** A HostileClient past the Hello exchange (a fresh device identity per name). */
export async function helloAttacker(address: string, name: string, localAddress?: string): Promise<HostileClient> {
  const c = await HostileClient.connect(address, await testIdentity(name), localAddress ? { localAddress } : {});
  c.hello(name);
  const m = await c.nextMessage(5000);
  assert.equal(m?.type, 'hello', `${name} got the daemon's Hello`);
  return c;
}

/** A HostileClient that holds the folder's key and has joined it (a folder member). */
export async function joinedAttacker(address: string, keys: FolderKeys, name: string, localAddress?: string): Promise<HostileClient> {
  const c = await helloAttacker(address, name, localAddress);
  c.send({ type: 'join', folderId: keys.folderId, proof: c.proof(keys.folderId, keys.accessSecret) });
  for (let i = 0; i < 8; i++) {
    const m = await c.nextMessage(5000);
    if (m?.type === 'joinResult') {
      assert.ok(m.ok, `${name} joined`);
      return c;
    }
    if (m === null) break;
  }
  throw new Error(`${name} got no JoinResult`);
}

/**
 * An honest peer from `localAddress` joins the daemon's folder and receives an
 * index update with at least one record; resolves with how long that took.
 */
export async function legitPeerJoins(address: string, keys: FolderKeys, name: string, localAddress: string): Promise<number> {
  const t0 = Date.now();
  const c = await joinedAttacker(address, keys, name, localAddress);
  try {
    // The daemon asks for our index (IndexAck) and sends its own.
    c.send({ type: 'indexAck', folderId: keys.folderId, indexId: '0000000000000000', seq: 0 });
    for (let i = 0; i < 16; i++) {
      const m = await c.nextMessage(10_000);
      assert.ok(m, `${name}: the daemon closed the connection`);
      if (m.type === 'indexUpdate' && m.records.length > 0) return Date.now() - t0;
    }
    throw new Error(`${name} got no index from the daemon`);
  } finally {
    c.destroy();
  }
}

/** Reads the daemon's messages until it acknowledges `seq` of our index `indexId` (it applied the update). */
export async function waitIndexAck(c: HostileClient, indexId: string, seq: number): Promise<void> {
  for (let i = 0; i < 64; i++) {
    const m = await c.nextMessage(15_000);
    assert.ok(m, `the daemon closed the connection before acknowledging ${seq}`);
    if (m.type === 'indexAck' && m.indexId === indexId && m.seq === seq) return;
  }
  throw new Error(`no IndexAck for ${seq}`);
}

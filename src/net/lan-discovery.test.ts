import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { formatDeviceId, parseDeviceId } from '../crypto/device-id.js';
import { ANNOUNCE_PACKET_BYTES, DISCOVERY_PERIOD_MS } from '../crypto/discovery.js';
import { ANNOUNCE_INTERVAL_MS, discoveryTimingFromEnv, LanDiscovery, MIN_TEST_PERIOD_MS, type DiscoveryTransport } from './lan-discovery.js';

/** An in-memory LAN: every packet sent reaches every other member, from its address; `captured` keeps them all. */
class FakeLan {
  readonly captured: { packet: Uint8Array; at: number }[] = [];
  private readonly members = new Map<string, (p: Uint8Array, from: string) => void>();
  constructor(private readonly clock: () => number) {}
  transport(address: string) {
    return async (onPacket: (p: Uint8Array, from: string) => void): Promise<DiscoveryTransport> => {
      this.members.set(address, onPacket);
      return {
        send: (packet) => {
          this.captured.push({ packet, at: this.clock() });
          for (const [a, deliver] of this.members) if (a !== address) queueMicrotask(() => deliver(packet, address));
        },
        close: () => { this.members.delete(address); },
      };
    };
  }
}

const id = (n: number) => formatDeviceId(new Uint8Array(32).fill(n));

function node(lan: FakeLan, address: string, deviceId: string, port: number, secrets: Uint8Array[], now: () => number, found: [string, string][]) {
  return new LanDiscovery({
    deviceId, port: () => port, secrets: () => secrets, now, intervalMs: 60_000,
    onFound: (a, d) => found.push([a, d]), transport: lan.transport(address),
  });
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('two devices that share a secret find each other with address and id; a stranger finds nothing', async () => {
  let t = 1_000_000_000_000;
  const now = () => t;
  const lan = new FakeLan(now);
  const shared = new Uint8Array(randomBytes(32));
  const fa: [string, string][] = [];
  const fb: [string, string][] = [];
  const fc: [string, string][] = [];
  const a = node(lan, '10.9.0.1', id(1), 22001, [new Uint8Array(randomBytes(32)), shared], now, fa);
  const b = node(lan, '10.9.0.2', id(2), 22002, [shared], now, fb);
  const c = node(lan, '10.9.0.3', id(3), 22003, [new Uint8Array(randomBytes(32))], now, fc);
  await a.start(); await c.start(); await b.start();
  await settle();
  assert.deepEqual([...new Set(fa.map((f) => f.join(' ')))], [`tcp://10.9.0.2:22002 ${id(2)}`], 'a found exactly b');
  assert.ok(fb.some(([addr, d]) => addr === 'tcp://10.9.0.1:22001' && d === id(1)), 'b found a (a answers b at once)');
  assert.deepEqual(fc, []);
  // Clocks a period apart still meet (the period before and after are looked up).
  t += DISCOVERY_PERIOD_MS;
  fa.length = 0;
  const b2 = node(lan, '10.9.0.4', id(4), 22004, [shared], () => t - DISCOVERY_PERIOD_MS, []);
  await b2.start();
  await settle();
  assert.ok(fa.some(([, d]) => d === id(4)));
  await Promise.all([a.stop(), b.stop(), c.stop(), b2.stop()]);
  // Stopped: nothing is sent any more.
  const before = lan.captured.length;
  a.announce();
  assert.equal(lan.captured.length, before);
});

test('announcements over two periods hold no constant identifier: no folder, device or port bytes, no repeated bytes across periods', async () => {
  let t = 1_800_000_000_000;
  const now = () => t;
  const lan = new FakeLan(now);
  const secrets = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
  const self = id(9);
  const d = node(lan, '10.9.0.9', self, 41873, secrets, now, []);
  await d.start();
  const periodOf = new Map<Uint8Array, number>();
  for (let i = 0; i < 3; i++) { d.announce(); periodOf.set(lan.captured.at(-1)!.packet, 0); t += 60_000; }
  t += DISCOVERY_PERIOD_MS;
  for (let i = 0; i < 3; i++) { d.announce(); periodOf.set(lan.captured.at(-1)!.packet, 1); t += 60_000; }
  await d.stop();
  const packets = lan.captured.map((c) => Buffer.from(c.packet));
  assert.ok(packets.length >= 6);
  for (const p of packets) assert.equal(p.length, ANNOUNCE_PACKET_BYTES, 'every packet has the same size');
  const deviceBytes = Buffer.from(parseDeviceId(self));
  const window = 8;
  for (const p of packets) {
    assert.equal(p.indexOf(deviceBytes.subarray(0, window)), -1, 'no device id in clear');
    for (const s of secrets) assert.equal(p.indexOf(Buffer.from(s).subarray(0, window)), -1, 'no secret');
  }
  // No 8-byte run appears in a packet of the first period and one of the second.
  const first = packets.filter((p) => periodOf.get(new Uint8Array(p.buffer, p.byteOffset, p.byteLength)) !== 1).slice(0, 3);
  const second = packets.slice(-3);
  const runs = new Set<string>();
  for (const p of first) for (let i = 0; i + window <= p.length; i++) runs.add(p.subarray(i, i + window).toString('hex'));
  for (const p of second) for (let i = 0; i + window <= p.length; i++) assert.ok(!runs.has(p.subarray(i, i + window).toString('hex')), `byte run at ${i} repeats across periods`);
});

test('garbage, truncated and oversized packets are ignored', async () => {
  const lan = new FakeLan(Date.now);
  const found: [string, string][] = [];
  const a = node(lan, '10.9.0.1', id(1), 22001, [new Uint8Array(32).fill(1)], Date.now, found);
  await a.start();
  const inject = await lan.transport('10.9.0.66')(() => undefined);
  for (const size of [0, 1, 77, 78, 79, ANNOUNCE_PACKET_BYTES, ANNOUNCE_PACKET_BYTES * 3, 65_000]) inject.send(new Uint8Array(randomBytes(size)));
  await settle();
  assert.deepEqual(found, []);
  await a.stop();
});

test('SEALSYNC_DISCOVERY_PERIOD_MS can shorten the period (announcing every quarter of it), never lengthen it; a bad value is refused with a reason', () => {
  const defaults = { periodMs: DISCOVERY_PERIOD_MS, intervalMs: ANNOUNCE_INTERVAL_MS };
  assert.deepEqual(discoveryTimingFromEnv({}), defaults);
  assert.deepEqual(discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: '' }), defaults);
  assert.deepEqual(discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: '8000' }), { periodMs: 8000, intervalMs: 2000 });
  assert.deepEqual(discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: ' 8000 ' }), { periodMs: 8000, intervalMs: 2000 });
  assert.deepEqual(discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: String(MIN_TEST_PERIOD_MS) }), { periodMs: MIN_TEST_PERIOD_MS, intervalMs: MIN_TEST_PERIOD_MS / 4 });
  assert.deepEqual(discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: String(DISCOVERY_PERIOD_MS - 1) }).intervalMs, ANNOUNCE_INTERVAL_MS);
  const bad = ['x', '-5', '0', '1999', '1.5', '8e3', '0x1f40', '8000ms', String(DISCOVERY_PERIOD_MS), String(DISCOVERY_PERIOD_MS * 10), '99999999999', 'Infinity', 'NaN', '８０００'];
  for (const v of bad) {
    const t = discoveryTimingFromEnv({ SEALSYNC_DISCOVERY_PERIOD_MS: v });
    assert.equal(t.periodMs, DISCOVERY_PERIOD_MS, v);
    assert.equal(t.intervalMs, ANNOUNCE_INTERVAL_MS, v);
    assert.match(t.problem ?? '', /^SEALSYNC_DISCOVERY_PERIOD_MS must be whole milliseconds from 2000 to 899999; ignored$/, v);
  }
});

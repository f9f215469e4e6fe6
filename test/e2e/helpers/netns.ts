/**
 * A small LAN for discovery tests: network namespaces joined by a bridge
 * that the test creates and removes (root only), and a listener that
 * captures what is multicast to the discovery group. Names carry the
 * test's pid so two test files can run at once.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import { makeTempDir, type TestHome } from './harness.js';
import { DISCOVERY_GROUP, DISCOVERY_PORT } from '../../../src/net/lan-discovery.js';

export interface CapturedPacket {
  /** The sender's IP address. */
  readonly from: string;
  readonly hex: string;
  /** Date.now() when the listener received it (the daemons share this machine's clock). */
  readonly at: number;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestLan {
  readonly namespaces: string[];
  private readonly bridge: string;
  private readonly suffix: string;

  /** `prefix` (up to 3 letters) keeps interface names of different tests apart; `subnet` is three octets. */
  constructor(private readonly prefix: string, readonly subnet: string, count: number) {
    this.suffix = String(process.pid % 100000);
    this.bridge = `${prefix}br${this.suffix}`;
    this.namespaces = Array.from({ length: count }, (_, i) => `${prefix}${i + 1}-${this.suffix}`);
  }

  /** Why namespaces cannot be used here, or null when they can. */
  unavailable(): string | null {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    try {
      ip(['netns', 'add', `${this.prefix}probe-${this.suffix}`]);
      ip(['netns', 'del', `${this.prefix}probe-${this.suffix}`]);
      return null;
    } catch (err) {
      return `ip netns is not available: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  /** The address of the i-th namespace (0-based). */
  address(i: number): string {
    return `${this.subnet}.${i + 1}`;
  }

  /** Namespace i's command prefix for TestHome.startDaemon({ wrapper }). */
  wrapper(i: number): string[] {
    return ['ip', 'netns', 'exec', this.namespaces[i] as string];
  }

  setup(): void {
    this.teardown();
    ip(['link', 'add', this.bridge, 'type', 'bridge', 'mcast_snooping', '0']);
    ip(['link', 'set', this.bridge, 'up']);
    this.namespaces.forEach((ns, i) => {
      const veth = `${this.prefix}v${i + 1}-${this.suffix}`;
      ip(['netns', 'add', ns]);
      ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['link', 'set', veth, 'master', this.bridge, 'up']);
      ip(['-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    });
  }

  teardown(): void {
    for (const ns of this.namespaces) { try { ip(['netns', 'del', ns]); } catch { /* not there */ } }
    try { ip(['link', 'del', this.bridge]); } catch { /* not there */ }
  }

  /** Listens on the discovery group in namespace i for `ms`: every packet with its source and arrival time. */
  async capture(i: number, ms: number): Promise<CapturedPacket[]> {
    const c = this.startCapture(i, ms);
    return c.done;
  }

  /**
   * Listens on the discovery group in namespace i until stop() (or `maxMs`,
   * a bound only): a capture that lasts exactly as long as what it watches,
   * however slowly a loaded machine gets there.
   */
  startCapture(i: number, maxMs: number): { stop: () => Promise<CapturedPacket[]>; done: Promise<CapturedPacket[]> } {
    const script = `
      const dgram = require('node:dgram');
      const out = [];
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      s.on('message', (m, r) => out.push({ from: r.address, hex: m.toString('hex'), at: Date.now() }));
      s.bind(${DISCOVERY_PORT}, () => { s.addMembership('${DISCOVERY_GROUP}', '${this.address(i)}'); });
      let ended = false;
      const end = () => { if (ended) return; ended = true; clearTimeout(timer); s.close(); process.stdout.write(JSON.stringify(out)); process.stdin.destroy(); };
      const timer = setTimeout(end, ${maxMs});
      process.stdin.once('data', end);`;
    const child = spawn('ip', ['netns', 'exec', this.namespaces[i] as string, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const done = new Promise<CapturedPacket[]>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as CapturedPacket[]) : reject(new Error(`capture failed: ${stderr}`))));
    });
    return {
      done,
      stop: () => {
        if (child.exitCode === null) child.stdin.end('stop\n');
        return done;
      },
    };
  }
}

export interface LanFixture {
  /** Why the file's tests are skipped, or null. */
  readonly skip: string | null;
  /** Homes to clean up (their daemons stopped) after the file's tests. */
  readonly homes: TestHome[];
  /** One temporary directory for the file, made on first use. */
  root(): Promise<string>;
}

/** Sets `lan` up before the file's tests; after them stops the homes, removes the directory and takes the LAN down. */
export function useTestLan(lan: TestLan): LanFixture {
  const skip = lan.unavailable();
  const homes: TestHome[] = [];
  let root: string | undefined;
  before(() => { if (!skip) lan.setup(); });
  after(async () => {
    for (const h of homes) await h.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
    if (!skip) lan.teardown();
  });
  return { skip, homes, root: async () => (root ??= await makeTempDir()) };
}

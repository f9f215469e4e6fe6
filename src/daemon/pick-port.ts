/**
 * Picks a free TCP port for a new home. Done ONCE at init so the port stays the
 * same across restarts (one port to open in a firewall).
 *
 * The pick comes from below the kernel's ephemeral range on purpose. A port the
 * OS hands out for bind(0) lies inside that range, and so does the local port of
 * every outgoing connection on the machine: between `init` and a later `start`
 * any browser tab or peer connection could hold it, and the daemon would then
 * fail with EADDRINUSE. Ports under the range are only ever taken by a listener
 * that asked for them by number.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { MAX_PORT } from '../model/net-address.js';

/** Lowest port a pick may return: clear of the registered services crowded under 20000. */
export const PICK_PORT_MIN = 20_000;
/** Highest port a pick may return: Linux's default ephemeral range starts at 32768 (IANA's at 49152). */
export const PICK_PORT_MAX = 32_767;
/** Random candidates tried before falling back to a port the OS chooses. */
export const PICK_PORT_ATTEMPTS = 64;
/** Where Linux keeps its ephemeral range ("low\thigh"). */
const LINUX_EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

export interface PickPortOptions {
  /** Ports not to return (e.g. the one just picked for the other listener). */
  readonly avoid?: ReadonlySet<number>;
  /** Inclusive bounds of the kernel's ephemeral range; read from the system when absent. */
  readonly ephemeral?: { readonly low: number; readonly high: number } | null;
  /** Random integer in [min, max): injected by tests. */
  readonly random?: (min: number, max: number) => number;
  /** Tries one port; resolves to the bound port (0 = ask the OS) or undefined when taken. */
  readonly tryBind?: (host: string, port: number) => Promise<number | undefined>;
}

/** The inclusive range picks come from, kept below the ephemeral range; null when none is left. */
export function pickRange(ephemeral: { low: number; high: number } | null): { min: number; max: number } | null {
  const max = ephemeral === null ? PICK_PORT_MAX : Math.min(PICK_PORT_MAX, ephemeral.low - 1);
  return max >= PICK_PORT_MIN ? { min: PICK_PORT_MIN, max } : null;
}

/** Parses the Linux range file; null when absent or malformed (other systems). */
export function parseEphemeralRange(text: string): { low: number; high: number } | null {
  const m = /^\s*(\d{1,5})\s+(\d{1,5})\s*$/.exec(text);
  if (!m) return null;
  const low = Number(m[1]);
  const high = Number(m[2]);
  return low >= 1 && low <= high && high <= MAX_PORT ? { low, high } : null;
}

async function readEphemeralRange(): Promise<{ low: number; high: number } | null> {
  try {
    return parseEphemeralRange(await readFile(LINUX_EPHEMERAL_RANGE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

/** Binds host:port exclusively and closes again; the bound port, or undefined when it is taken. */
function tryBindPort(host: string, port: number): Promise<number | undefined> {
  const server = createServer();
  return new Promise<number | undefined>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(undefined);
      else reject(new SealsyncError('ERR_LISTEN', `cannot listen on ${host}: ${err.message}`));
    });
    server.listen({ host, port, exclusive: true }, () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

export async function pickFreePort(host: string, opts: PickPortOptions = {}): Promise<number> {
  const avoid = opts.avoid ?? new Set<number>();
  const tryBind = opts.tryBind ?? tryBindPort;
  const random = opts.random ?? randomInt;
  const range = pickRange(opts.ephemeral === undefined ? await readEphemeralRange() : opts.ephemeral);
  for (let i = 0; range !== null && i < PICK_PORT_ATTEMPTS; i++) {
    const candidate = random(range.min, range.max + 1);
    if (avoid.has(candidate)) continue;
    const bound = await tryBind(host, candidate);
    if (bound !== undefined) return bound;
  }
  // Nothing free below the ephemeral range (or the range starts too low): let the OS choose.
  for (let i = 0; i < PICK_PORT_ATTEMPTS; i++) {
    const bound = await tryBind(host, 0);
    if (bound !== undefined && bound > 0 && !avoid.has(bound)) return bound;
  }
  throw new SealsyncError('ERR_LISTEN', `no free port on ${host}`);
}

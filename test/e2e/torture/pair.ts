/**
 * Torture-suite helpers: two real daemons (A and B) sharing one read-write
 * folder over loopback, and the checks every torture case repeats — the two
 * trees converge, nothing half-written sits under a real name, no temp file
 * is left, and the status says why a path did not sync.
 *
 * Trees are read with Buffer names, so a name that is not UTF-8 is seen as
 * it is on disk (readdir with strings would turn it into U+FFFD).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../../src/engine/peer/folder-status.js';
import { TEMP_PREFIX } from '../../../src/fs/temp-files.js';
import { makeTempDir, pollUntil, TestHome, type DaemonProcess } from '../helpers/harness.js';

export const SYNC_TIMEOUT_MS = 60_000;
/** A daemon start or a CLI call (tsx compiles the sources) can take tens of seconds on a loaded 2-core machine. */
export const DAEMON_START_TIMEOUT_MS = 60_000;
const STATE_DIR = '.sealsync';

/** Idle, nothing needed, no error. */
export const synced = (f: FolderStatus): boolean => f.state === 'idle' && f.needFiles === 0 && f.error === null;

/**
 * A receiver that cannot write some path (status schema v2): the folder is
 * 'waiting', still needs it, and lists it as parked with the reason; the
 * folder itself has no error (everything else keeps syncing).
 */
export const parkedWith = (reason: RegExp) => (f: FolderStatus): boolean =>
  f.state === 'waiting' && f.error === null && f.needFiles >= 1 && f.parked.some((x) => reason.test(`${x.path}: ${x.reason}`));

export interface Entry {
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** sha256 of the content (files), the target (symlinks), '' otherwise. */
  readonly digest: string;
}

/** A name as text for reports: UTF-8 when it decodes, else `\xNN` escapes. */
export function showName(name: Buffer): string {
  const s = name.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(name)) return s;
  return [...name].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * Every entry under `root` (the state dir skipped), keyed by its relative path
 * (names shown by showName). Temp files are included: callers check for them.
 * Retries when the daemon renames something under the walk.
 */
export async function readTree(root: string, opts: { content?: boolean } = {}): Promise<Map<string, Entry>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readTreeOnce(root, opts.content ?? true);
    } catch (err) {
      if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function readTreeOnce(root: string, content: boolean): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (absDir: Buffer, rel: string): Promise<void> => {
    const names = await readdir(absDir, { encoding: 'buffer' });
    for (const name of names) {
      const shown = showName(name);
      const r = rel ? `${rel}/${shown}` : shown;
      if (r === STATE_DIR) continue;
      const abs = Buffer.concat([absDir, Buffer.from('/'), name]);
      const st = await lstat(abs);
      const base = { mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
      if (st.isDirectory()) {
        out.set(r, { ...base, kind: 'dir', size: 0, digest: '' });
        await walk(abs, r);
      } else if (st.isSymbolicLink()) {
        out.set(r, { ...base, kind: 'symlink', digest: String(await readlink(abs)) });
      } else if (st.isFile()) {
        const digest = content ? createHash('sha256').update(await readFile(abs)).digest('hex') : '';
        out.set(r, { ...base, kind: 'file', digest });
      } else {
        out.set(r, { ...base, kind: 'other', digest: '' });
      }
    }
  };
  await walk(Buffer.from(root), '');
  return out;
}

/** Paths of our temp files in a tree. */
export function tempFiles(tree: Map<string, Entry>): string[] {
  return [...tree.keys()].filter((p) => (p.split('/').pop() ?? '').startsWith(TEMP_PREFIX));
}

/** What must match between two trees: kind, permission bits, content. (Not mtimes of dirs, not inodes.) */
export function comparable(e: Entry): string {
  return e.kind === 'dir' ? `dir:${(e.mode & 0o777).toString(8)}` : `${e.kind}:${(e.mode & 0o777).toString(8)}:${e.digest}`;
}

/** Differences between two trees, as readable lines (first `max`). */
export function treeDiff(x: Map<string, Entry>, y: Map<string, Entry>, skip: (path: string) => boolean = () => false, max = 8): string[] {
  const keys = new Set([...x.keys(), ...y.keys()]);
  const bad: string[] = [];
  for (const k of keys) {
    if (skip(k)) continue;
    const a = x.get(k);
    const b = y.get(k);
    if (a === undefined || b === undefined || comparable(a) !== comparable(b)) {
      bad.push(`${k}: ${a ? comparable(a).slice(0, 24) : '-'} vs ${b ? comparable(b).slice(0, 24) : '-'}`);
    }
  }
  return bad.slice(0, max).concat(bad.length > max ? [`… ${bad.length - max} more`] : []);
}

/**
 * Waits until `x` and `y` hold the same tree (paths for which `skip` is true
 * are left out) and neither holds a temp file; returns y's tree.
 */
export async function converge(
  x: string,
  y: string,
  what: string,
  opts: { skip?: (path: string) => boolean; timeoutMs?: number; content?: boolean } = {},
): Promise<Map<string, Entry>> {
  let detail = '';
  return pollUntil(async () => {
    const [tx, ty] = await Promise.all([readTree(x, opts), readTree(y, opts)]);
    const diff = treeDiff(tx, ty, opts.skip);
    const temps = [...tempFiles(tx), ...tempFiles(ty)];
    detail = [...diff, ...temps.map((t) => `temp file left: ${t}`)].join('; ');
    return diff.length === 0 && temps.length === 0 ? ty : undefined;
  }, { timeoutMs: opts.timeoutMs ?? SYNC_TIMEOUT_MS, intervalMs: 300, description: what, last: () => detail });
}

/** A running pair: A and B, one read-write folder each, B connected to A. */
export interface Pair {
  readonly a: TestHome;
  readonly b: TestHome;
  dA: DaemonProcess;
  dB: DaemonProcess;
  readonly dirA: string;
  readonly dirB: string;
  readonly key: string;
  folderA(): Promise<FolderStatus>;
  folderB(): Promise<FolderStatus>;
  /** Waits until both folders are synced (idle, nothing needed, no error). */
  bothSynced(what: string, timeoutMs?: number): Promise<void>;
  /** Connects B to A (done by startPair unless `connect: false`). */
  connect(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface PairOptions {
  /** Fills A's folder before it is added (and before B connects). */
  readonly seedA?: (dirA: string) => Promise<void>;
  /** Fills B's folder before it is added (after seedA). */
  readonly seedB?: (dirB: string) => Promise<void>;
  /** Where B's folder lives (default: next to A's under the temp root). */
  readonly dirB?: (root: string) => Promise<string>;
  /** Run A's daemon and CLI as this user (root only). */
  readonly asUserA?: { readonly uid: number; readonly gid: number };
  /** Runs after a failed start, before the temp root is removed (e.g. to unmount B's folder). */
  readonly onFailedStart?: () => Promise<void> | void;
  /** Do not connect B to A (the caller does it later with connect()). */
  readonly connect?: boolean;
}

/** Starts A and B, adds the folder on both (A first, scanned), connects B to A. */
export async function startPair(opts: PairOptions = {}): Promise<Pair> {
  const root = await makeTempDir();
  if (opts.asUserA) await chown(root, opts.asUserA.uid, opts.asUserA.gid);
  const dirA = join(root, 'fa');
  const dirB = opts.dirB ? await opts.dirB(root) : join(root, 'fb');
  await mkdir(dirA, { recursive: true });
  await mkdir(dirB, { recursive: true });
  if (opts.asUserA) await chown(dirA, opts.asUserA.uid, opts.asUserA.gid);
  let a: TestHome | undefined;
  let b: TestHome | undefined;
  try {
    // Independent steps run side by side: each CLI call is a node start (seconds on a loaded machine).
    [a, b] = await Promise.all([
      TestHome.create({ name: 'a', root, cliTimeoutMs: DAEMON_START_TIMEOUT_MS, ...(opts.asUserA ? { asUser: opts.asUserA } : {}) }),
      TestHome.create({ name: 'b', root, cliTimeoutMs: DAEMON_START_TIMEOUT_MS }),
      (async () => {
        await opts.seedA?.(dirA);
        await opts.seedB?.(dirB); // after A: B may be seeded from A (a copy made by hand)
      })(),
    ]);
    const slow = { timeoutMs: DAEMON_START_TIMEOUT_MS };
    const [dA, dB, keyOut] = await Promise.all([a.startDaemon(slow), b.startDaemon(slow), a.cliOk(['key', 'new'], slow)]);
    const key = keyOut.split('\n')[0]?.trim() ?? '';
    await Promise.all([a.cliOk(['folder', 'add', dirA, '--key', key], slow), b.cliOk(['folder', 'add', dirB, '--key', key], slow)]);
    return await finishPair(a, b, dA, dB, dirA, dirB, key, root, opts);
  } catch (err) {
    // A failed start must not leave daemons behind: their pipes would keep the test process alive.
    await b?.cleanup().catch(() => undefined);
    await a?.cleanup().catch(() => undefined);
    await opts.onFailedStart?.();
    await rm(root, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
    throw err;
  }
}

async function finishPair(
  a: TestHome, b: TestHome, dA: DaemonProcess, dB: DaemonProcess, dirA: string, dirB: string, key: string, root: string, opts: PairOptions,
): Promise<Pair> {
  const folderOf = async (h: TestHome, dir: string): Promise<FolderStatus> => {
    const f = (await h.status()).folders.find((x) => x.path === dir);
    if (!f) throw new Error(`no folder ${dir}`);
    return f;
  };
  const pair = {
    a, b, dA, dB, dirA, dirB, key,
    folderA: () => folderOf(a, dirA),
    folderB: () => folderOf(b, dirB),
    async bothSynced(what: string, timeoutMs = SYNC_TIMEOUT_MS) {
      await a.waitForFolder(dirA, synced, { timeoutMs, description: `A synced (${what})` });
      await b.waitForFolder(dirB, synced, { timeoutMs, description: `B synced (${what})` });
    },
    async connect() {
      await b.cliOk(['peer', 'add', await a.listenAddress()], { timeoutMs: DAEMON_START_TIMEOUT_MS });
    },
    async cleanup() {
      await b.cleanup();
      await a.cleanup();
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  if (opts.connect !== false) await pair.connect();
  return pair;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether this process may mount a tmpfs (the tests that need one skip otherwise). */
export const CAN_MOUNT = process.getuid?.() === 0;

/**
 * A pair whose B folder is a tmpfs of `mib` MiB (root only), mounted at `fb`
 * in the pair's own temp root (a mount point no other test uses). `start()`
 * starts the pair; `close()` stops both daemons (B first: it must let go of
 * the mount), unmounts and removes the temp root; `remount` resizes.
 */
export function tmpfsPair(mib: number, opts: Omit<PairOptions, 'dirB' | 'onFailedStart'>): {
  start: () => Promise<Pair>;
  remount: (mib: number) => void;
  close: () => Promise<void>;
} {
  let mountPoint = '';
  let pair: Pair | undefined;
  const unmount = (): void => {
    if (mountPoint) execFileSync('umount', ['-l', mountPoint]);
    mountPoint = '';
  };
  return {
    start: async () => {
      pair = await startPair({
        ...opts,
        dirB: async (root) => {
          mountPoint = join(root, 'fb');
          await mkdir(mountPoint);
          execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0755`, 'tmpfs', mountPoint]);
          return mountPoint;
        },
        onFailedStart: unmount,
      });
      return pair;
    },
    remount: (size) => execFileSync('mount', ['-o', `remount,size=${size}m`, mountPoint]),
    close: async () => {
      if (!pair) return; // a failed start unmounted already (onFailedStart)
      await pair.b.cleanup();
      await pair.a.cleanup();
      unmount();
      await pair.cleanup();
    },
  };
}

/**
 * Random edits for the chaos run, and the ledger of what was written.
 *
 * Every write carries unique content (a header naming the write, then seeded
 * random bytes), so where it ended up can be told by its digest alone: as a
 * file under any name (renames move content), as a sync-conflict copy, or in
 * a device's `.sealsync/archive/`.
 *
 * A write "must survive" when it is the last thing its device did to that
 * content in the batch (a write the same user overwrote or deleted a moment
 * later is the user's own doing, not the sync's). Writes on the read-only
 * device must never spread.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { listFiles } from '../e2e/helpers/replica-checks.js';
import type { ChaosCluster, Device, DeviceName } from './cluster.js';

export type Rng = () => number;

const DIRS = ['', 'd0', 'd1', 'd1/deep', 'd2'];
/** Bounds on the tree: below MIN the batch creates, above MAX it deletes more. */
const MIN_FILES = 5;
const MAX_FILES = 150;
/** Files touched by one clock jump besides the round's own writes. */
const CLOCK_JUMP_EXTRA_FILES = 5;
const HOUR_MS = 3_600_000;
const TEN_YEARS_MS = 10 * 365 * 24 * HOUR_MS;

export interface Write {
  readonly id: string;
  readonly round: number;
  readonly device: DeviceName;
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

export interface EditLogEntry {
  readonly op: 'create' | 'modify' | 'rename' | 'delete' | 'concurrent' | 'skipped';
  readonly device: DeviceName | 'a+b';
  readonly path: string;
  readonly to?: string;
  readonly bytes?: number;
}

export interface RoundEdits {
  readonly log: EditLogEntry[];
  /** rw writes that must survive (last state of their content on their device). */
  readonly mustSurvive: Write[];
  /** Writes made on the read-only device: must never leave it. */
  readonly readOnly: Write[];
  /** Paths read-write edits created, changed, renamed or deleted (any device). */
  readonly touched: Set<string>;
  /** Read-only device paths with local changes. */
  readonly roPaths: Set<string>;
  /** Names of new files (for the plaintext check of the encrypted devices). */
  readonly names: string[];
  /** Contents written this round (ditto). */
  readonly contents: Buffer[];
  /** Paths each device wrote this round (for a clock jump). */
  readonly writtenBy: Map<DeviceName, string[]>;
}

/** Uniform integer in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from nothing');
  return items[Math.floor(rng() * items.length)] as T;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function token(rng: Rng): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rng() * 36)];
  return s;
}

/** Mostly small files, some medium, a few large. */
function pickSize(rng: Rng): number {
  const r = rng();
  if (r < 0.7) return randInt(rng, 100, 16 * 1024);
  if (r < 0.95) return randInt(rng, 16 * 1024, 256 * 1024);
  return randInt(rng, 256 * 1024, 2 * 1024 * 1024);
}

/** Unique content: a header naming the write, then seeded random bytes. */
export function makeContent(rng: Rng, id: string, size: number): Buffer {
  const header = Buffer.from(`sealsync chaos write ${id}\n`);
  const buf = Buffer.alloc(Math.max(size, header.length + 64));
  header.copy(buf);
  for (let i = header.length; i < buf.length; i += 4) {
    const v = Math.floor(rng() * 4294967296);
    for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (v >>> (j * 8)) & 0xff;
  }
  return buf;
}

/** Relative paths of the regular files under `root`, sorted (sealsync's private and temp entries skipped). */
export async function listTree(root: string): Promise<string[]> {
  return (await listFiles([root]))
    .map((f) => relative(root, f))
    .filter((rel) => !rel.split(sep).some((segment) => segment.startsWith('.sealsync')))
    .sort();
}

export class EditLedger {
  /** Digests of every rw write ever made (and of nothing else): any other content on a rw device is corruption. */
  readonly known = new Set<string>();
  private seq = 0;

  constructor(private readonly rng: Rng) {}

  private async write(d: Device, rel: string, round: number, edits: RoundEdits): Promise<Write> {
    const id = `r${round}-${++this.seq}-${d.name}`;
    const content = makeContent(this.rng, id, pickSize(this.rng));
    await mkdir(dirname(join(d.dir, rel)), { recursive: true });
    await writeFile(join(d.dir, rel), content);
    const w: Write = { id, round, device: d.name, path: rel, digest: sha256(content), size: content.length };
    edits.contents.push(content);
    if (d.kind === 'rw') this.known.add(w.digest);
    const list = edits.writtenBy.get(d.name) ?? [];
    list.push(rel);
    edits.writtenBy.set(d.name, list);
    return w;
  }

  private newPath(): string {
    const dir = pick(this.rng, DIRS);
    const name = `cx-${token(this.rng)}.dat`;
    return dir ? `${dir}/${name}` : name;
  }

  /** Initial content on `a` before the first round. */
  async seed(d: Device, files: number): Promise<RoundEdits> {
    const edits = emptyEdits();
    for (let i = 0; i < files; i++) {
      const rel = this.newPath();
      edits.names.push(rel.split('/').pop() as string);
      edits.mustSurvive.push(await this.write(d, rel, 0, edits));
    }
    return edits;
  }

  /** One random batch of edits on random devices. */
  async batch(cluster: ChaosCluster, round: number): Promise<RoundEdits> {
    const edits = emptyEdits();
    // Pending writes per device, keyed by current path: later edits by the same device replace or drop them.
    const pending = new Map<string, Write>();
    const count = randInt(this.rng, 1, 6);
    for (let i = 0; i < count; i++) {
      try {
        await this.oneEdit(cluster, round, edits, pending);
      } catch (err) {
        // The daemon moved the file away between listing and editing (a remote change landed): skip this edit.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        edits.log.push({ op: 'skipped', device: 'a+b', path: String((err as NodeJS.ErrnoException).path ?? '') });
      }
    }
    edits.mustSurvive.push(...pending.values());
    return edits;
  }

  private async oneEdit(cluster: ChaosCluster, round: number, edits: RoundEdits, pending: Map<string, Write>): Promise<void> {
    const key = (d: DeviceName, p: string) => `${d}\0${p}`;
    const roEdit = this.rng() < 0.15;
    const d = roEdit ? cluster.device('c') : pick(this.rng, cluster.rwDevices);
    const files = await listTree(d.dir);
    const r = this.rng();
    const op = files.length < MIN_FILES ? 'create'
      : files.length > MAX_FILES && r < 0.5 ? 'delete'
        : roEdit ? (r < 0.4 ? 'create' : r < 0.8 ? 'modify' : 'delete')
          : r < 0.3 ? 'create' : r < 0.55 ? 'modify' : r < 0.7 ? 'rename' : r < 0.82 ? 'delete' : 'concurrent';
    if (op === 'create' || op === 'modify') {
      const rel = op === 'create' ? this.newPath() : pick(this.rng, files);
      if (op === 'create') edits.names.push(rel.split('/').pop() as string);
      const w = await this.write(d, rel, round, edits);
      edits.log.push({ op, device: d.name, path: rel, bytes: w.size });
      if (d.kind === 'ro') {
        edits.readOnly.push(w);
        edits.roPaths.add(rel);
      } else {
        pending.set(key(d.name, rel), w);
        edits.touched.add(rel);
      }
    } else if (op === 'delete') {
      const rel = pick(this.rng, files);
      await unlink(join(d.dir, rel));
      edits.log.push({ op, device: d.name, path: rel });
      if (d.kind === 'ro') edits.roPaths.add(rel);
      else {
        pending.delete(key(d.name, rel));
        edits.touched.add(rel);
      }
    } else if (op === 'rename') {
      const rel = pick(this.rng, files);
      const to = this.newPath();
      edits.names.push(to.split('/').pop() as string);
      await mkdir(dirname(join(d.dir, to)), { recursive: true });
      await rename(join(d.dir, rel), join(d.dir, to));
      edits.log.push({ op, device: d.name, path: rel, to });
      edits.touched.add(rel).add(to);
      const w = pending.get(key(d.name, rel));
      if (w) {
        pending.delete(key(d.name, rel));
        pending.set(key(d.name, to), { ...w, path: to });
      }
    } else {
      // The same file changed on both read-write devices before either hears of the other.
      const [a, b] = cluster.rwDevices as [Device, Device];
      const onB = new Set(await listTree(b.dir));
      const shared = (await listTree(a.dir)).filter((p) => onB.has(p));
      if (shared.length === 0) return;
      const rel = pick(this.rng, shared);
      const wa = await this.write(a, rel, round, edits);
      const wb = await this.write(b, rel, round, edits);
      pending.set(key('a', rel), wa).set(key('b', rel), wb);
      edits.touched.add(rel);
      edits.log.push({ op, device: 'a+b', path: rel, bytes: wa.size + wb.size });
    }
  }

  /**
   * A clock jump on `d`: the files it wrote this round, and a few others,
   * get mtimes hours to years in the future or the past — what a device
   * whose clock jumped writes. Returns the paths touched.
   */
  async clockJump(d: Device, edits: RoundEdits): Promise<{ paths: string[]; offsetMs: number }> {
    const sign = this.rng() < 0.5 ? -1 : 1;
    const offsetMs = sign * Math.round(HOUR_MS + this.rng() * (TEN_YEARS_MS - HOUR_MS));
    const files = await listTree(d.dir);
    const paths = new Set((edits.writtenBy.get(d.name) ?? []).filter((p) => files.includes(p)));
    for (let i = 0; i < CLOCK_JUMP_EXTRA_FILES && files.length > 0; i++) paths.add(pick(this.rng, files));
    const when = new Date(Date.now() + offsetMs);
    for (const p of paths) await utimes(join(d.dir, p), when, when).catch(() => undefined);
    return { paths: [...paths], offsetMs };
  }
}

export function emptyEdits(): RoundEdits {
  return {
    log: [], mustSurvive: [], readOnly: [], touched: new Set(), roPaths: new Set(), names: [], contents: [], writtenBy: new Map(),
  };
}

/**
 * FolderScan: one pass that compares the folder on disk with its index rows
 * and records what changed (LocalChangeRecorder). LocalFolder decides when a
 * pass runs and what it covers (the whole folder or the watcher's hints); this
 * file is how a pass walks, compares, hashes and finds deletions.
 *
 * - A full pass walks the tree once. Its memory does not grow with the folder:
 *   the rows of each chunk of walked entries are read just before comparing,
 *   the rows the walk reached are kept as one bit per rowid (SeenRows), and
 *   the deletion pass reads
 *   the index a page at a time.
 * - A partial pass looks at each hinted path (and everything below it) against
 *   the rows of that subtree, loaded when it begins.
 * - Changed files are hashed in the worker pool with at most
 *   MAX_HASHES_IN_FLIGHT waiting or hashing (small files, hashed inline,
 *   never wait for them); a file that changes while hashed is hashed again
 *   (bounded), never indexed half-old. Paths the walk did not see become tombstones, unless they
 *   are now ignored or lie under a directory that could not be read.
 */
import type { Stats } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { describeError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { LOOKUP_BATCH, type Index } from '../../index/index.js';
import type { FileStat } from '../../index/types.js';
import { isSafeRelativePath, normalizePath } from '../../model/path.js';
import type { FolderKeys } from '../../crypto/index.js';
import { lstatOrNullSync, parentOf } from '../../fs/safe-fs.js';
import { isInternalPath, isUnchanged, isUnder, recordForEntry, type ScanEntry } from './scan-diff.js';
import type { LocalChangeRecorder } from './local-change-recorder.js';
import { SeenRows } from './seen-rows.js';
import { entryFromStat, errnoCode, hasAncestorIn, type ScanRun, type Snapshot } from './scan-entry.js';
import type { FileHasher, IgnoreMatcher, LocalFolderFs, SkipNotice } from './local-folder-fs.js';

/** Times a file that keeps changing while it is hashed is retried within one scan. */
export const MAX_HASH_RETRIES = 3;
/** Unreadable paths listed in the status (the count beyond is only logged). */
export const MAX_UNREADABLE_LISTED = 100;
/** Other names of a hard-linked file rescanned with it (see addLinkSiblings). */
const MAX_LINK_SIBLINGS = 64;
/**
 * Longest a scan runs before it lets the event loop poll for I/O. Small files
 * are walked, hashed, sealed and signed on the main thread without a real
 * await in between (blocking lstat and reads, inline hashing), so the loop
 * polled only between directories (~100 files, tens of ms). A receiver
 * pulling during our initial scan then waited 100-300 ms per block request
 * (measured in bench (b)): each answer also waits for the socket to drain,
 * and draining advances once per loop turn. With a yield every 5 ms the
 * answers took 40-70 ms, with 1 ms 20-30 ms (twice the files served during
 * the scan). A setImmediate and one epoll_wait cost a few µs: ~1% at 1 ms.
 */
export const SCAN_SLICE_MS = 1;
/**
 * Files handed to the hash pool and not yet recorded. Each one waiting for a
 * worker is a path in the pool's queue, so the bound is generous: with only
 * 2 x workers in flight, a run of big files stopped the walk (and the small
 * files behind them, hashed inline) until a worker was free; the scan of
 * bench (g) used ~1.15 of the two cores.
 */
export const MAX_HASHES_IN_FLIGHT = 64;
/** Abort listeners on a pass's signal besides the queued hashes (the walk, timers): room for the warning's limit. */
const OTHER_ABORT_LISTENERS = 16;
/** Index rows per page of a full scan's deletion pass. */
const DELETION_PAGE_ROWS = 1000;

export interface FolderScanDeps {
  readonly index: Index;
  readonly pool: FileHasher;
  readonly fs: LocalFolderFs;
  readonly log: Logger;
  readonly now: () => number;
  readonly root: string;
  readonly folder: number;
  readonly keys: FolderKeys;
  readonly recorder: LocalChangeRecorder;
  /** Another writer (the puller) is replacing `path` right now: the scan leaves it alone. */
  readonly isBusy: (path: string) => boolean;
  /** LocalFolder's count of flushes by another writer of files rows (see LocalFolder.flush). */
  readonly externalWrites: () => number;
  /** Called as files are looked at; LocalFolder throttles it into progress events. */
  readonly onProgress: () => void;
}

/** What one pass counts and lists, and what stops it. */
export interface ScanPass {
  readonly run: ScanRun;
  /** Paths this pass could not read or sync (the status lists them). */
  readonly unreadable: Set<string>;
  readonly ignore: IgnoreMatcher;
  readonly signal: AbortSignal;
  /**
   * Seal every block for its id (the folder has had an encrypted peer): files
   * whose rows withhold their ids are hashed again even when unchanged, so
   * their records get completed (docs/crypto.md §4.4). False: hash only.
   */
  readonly sealIds: boolean;
}

export class FolderScan {
  /**
   * Walked files that the pass's snapshot held no row for, with the snapshot's
   * externalWrites count (see LocalChangeRecorder.record). Weak: an entry that is never
   * recorded (unreadable, gone) leaves nothing behind.
   */
  private readonly absentFromSnapshot = new WeakMap<ScanEntry, number>();

  constructor(private readonly deps: FolderScanDeps) {}

  /**
   * Walks the whole folder, then pages through the index for rows the walk did
   * not see. Rows written after the scan began (rowid above the limit: the
   * puller's, or this scan's own) are never deletions.
   */
  async full(pass: ScanPass): Promise<void> {
    const { index, folder } = this.deps;
    const seen = new SeenRows(index.lastFileRowId());
    const skipped: string[] = [];
    const walk = this.deps.fs.walk(this.deps.root, { ignore: pass.ignore, signal: pass.signal, onSkip: (n) => this.onSkip(pass, n, '', skipped) });
    await this.scanEntries(pass, walk, '', null, seen);
    const now = this.deps.now();
    for (let after = ''; ;) {
      pass.signal.throwIfAborted();
      const page = index.filePathsAfter(folder, after, DELETION_PAGE_ROWS);
      if (page.length === 0) break;
      after = page[page.length - 1]!.path;
      const unseen = page.filter((row) => row.rowid <= seen.limit && !seen.has(row.rowid)).map((row) => row.path);
      const missing = new Map<string, FileStat>();
      if (unseen.length > 0) for (const [path, st] of index.getFileStats(folder, unseen)) if (!st.deleted) missing.set(path, st);
      if (missing.size > 0) this.deps.recorder.recordMissing(missing, skipped, pass.ignore, now);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Scans `paths` (folder-relative), each with everything below it. */
  async partial(paths: readonly string[], pass: ScanPass): Promise<void> {
    const { signal, ignore } = pass;
    // Drop hints below another hinted directory: scanning that directory covers them.
    // (A lookup per ancestor, not a comparison with every root: a sync burst hints thousands of files.)
    const hinted = new Set(paths.map((p) => normalizePath(p)));
    this.addLinkSiblings(hinted);
    const roots = [...hinted].sort().filter((p) => !hasAncestorIn(p, hinted));
    for (const rel of roots) {
      signal.throwIfAborted();
      if (isInternalPath(rel) || !isSafeRelativePath(rel)) continue;
      const abs = join(this.deps.root, rel);
      const known = this.snapshot(this.deps.index.loadFileStatsUnder(this.deps.folder, rel));
      const skipped: string[] = [];
      // Looked at again now: what is still unreadable below it is listed again; what became readable goes.
      for (const u of pass.unreadable) if (isUnder(u, rel)) pass.unreadable.delete(u);
      let st: Stats | null;
      try {
        st = lstatOrNullSync(abs);
      } catch (err) {
        // EACCES: a directory on the way cannot be searched (a watched directory chmodded
        // 000 reports its own name below itself). List that directory; delete nothing under it.
        const blocked = parentOf(rel) || rel;
        this.onSkip(pass, { path: blocked, reason: 'unreadable', detail: errnoCode(err) ?? describeError(err) }, '', skipped);
        if (!skipped.includes(rel)) skipped.push(rel);
        st = null;
      }
      if (st && !ignore.ignores(rel, st.isDirectory())) {
        const entry = await entryFromStat(rel, abs, st);
        if (entry) {
          // Most hints are single files (often the puller's own writes, which
          // triage() finds unchanged): no walk, no async iteration for them.
          const changed = this.triage(pass, entry, '', known);
          if (changed) await this.hashAndRecord(pass, changed);
          if (entry.kind === 'dir') {
            const sub: IgnoreMatcher = { ignores: (p, isDir) => ignore.ignores(`${rel}/${p}`, isDir) };
            const walk = this.deps.fs.walk(abs, { ignore: sub, signal, onSkip: (n) => this.onSkip(pass, n, rel, skipped) });
            try {
              await this.scanEntries(pass, walk, rel, known);
            } catch (err) {
              // The hinted directory itself cannot be listed: a skipped path, not a folder error.
              if (!isSealsyncError(err, 'ERR_PATH_UNREADABLE')) throw err;
              this.onSkip(pass, { path: rel, reason: 'unreadable', detail: describeError(err) }, '', skipped);
            }
          }
        }
      }
      this.deps.recorder.recordMissing(known.rows, skipped, ignore, this.deps.now());
    }
  }

  /** Index rows loaded now, tagged with the external-writes count they reflect. */
  private snapshot(rows: Map<string, FileStat>): Snapshot {
    return { rows, externalWrites: this.deps.externalWrites() };
  }

  /**
   * A write through one name of a hard link changes every name, but the
   * watcher reports only the one written: the other names the index knows
   * for that inode are scanned with it.
   */
  private addLinkSiblings(hinted: Set<string>): void {
    for (const rel of [...hinted]) {
      if (isInternalPath(rel) || !isSafeRelativePath(rel)) continue;
      let st: Stats | null;
      try {
        st = lstatOrNullSync(join(this.deps.root, rel));
      } catch {
        continue; // cannot be looked at (EACCES on the way): partial() lists it
      }
      if (st === null || !st.isFile() || st.nlink < 2) continue;
      for (const other of this.deps.index.pathsWithInode(this.deps.folder, st.dev, st.ino, MAX_LINK_SIBLINGS)) hinted.add(other);
    }
  }

  /**
   * Compares walked entries with `known` (removing each seen path from it), or,
   * when `known` is null (a full scan), with the rows of each chunk of
   * LOOKUP_BATCH entries (what the index reads with one query) read just
   * then, noting every path in `seen`; hashes what changed with bounded
   * concurrency.
   */
  private async scanEntries(
    pass: ScanPass,
    entries: AsyncIterable<ScanEntry>,
    prefix: string,
    known: Snapshot | null,
    seen?: SeenRows,
  ): Promise<void> {
    const { signal } = pass;
    // Every file queued in the pool listens to the pass's signal (and leaves when it settles):
    // up to MAX_HASHES_IN_FLIGHT of them, past Node's leak warning at 10.
    setMaxListeners(MAX_HASHES_IN_FLIGHT + OTHER_ABORT_LISTENERS, signal);
    const inFlight = new Set<Promise<void>>();
    const inlineJobs = new Set<Promise<void>>();
    // A job's failure (an abort while it waits in the pool, or a write error) is kept here
    // and rethrown by the loop: a job's own promise never rejects, so one that fails while
    // the loop awaits the walk is not an unhandled rejection (which would end the daemon).
    let failed: { err: unknown } | null = null;
    const throwIfJobFailed = (): void => {
      if (failed) throw failed.err;
    };
    let sliceStart = performance.now();
    const chunk: ScanEntry[] = [];
    const compare = async (raws: readonly ScanEntry[]) => {
      const snap = known ?? { ...this.snapshot(this.deps.index.getFileStats(this.deps.folder, raws.map((r) => normalizePath(r.path)))), seen };
      for (const raw of raws) {
        signal.throwIfAborted();
        throwIfJobFailed();
        if (performance.now() - sliceStart >= SCAN_SLICE_MS) {
          // See SCAN_SLICE_MS: let peers' requests (and timers) in.
          await new Promise<void>((resolve) => setImmediate(resolve));
          signal.throwIfAborted();
          sliceStart = performance.now();
        }
        const entry = this.triage(pass, raw, prefix, snap);
        if (entry === null) continue;
        // A small file is hashed right here (the pool's inline path), so it never waits
        // behind big files on the workers: the walk goes on while they hash.
        const jobs = entry.size <= this.deps.pool.inlineMaxBytes ? inlineJobs : inFlight;
        if (jobs === inFlight) {
          while (inFlight.size >= MAX_HASHES_IN_FLIGHT) await Promise.race(inFlight);
          throwIfJobFailed();
        }
        const job: Promise<void> = this.hashAndRecord(pass, entry)
          .catch((err: unknown) => { failed ??= { err }; })
          .finally(() => jobs.delete(job));
        jobs.add(job);
      }
    };
    try {
      for await (const raw of entries) {
        if (known) {
          await compare([raw]);
          continue;
        }
        chunk.push(raw);
        if (chunk.length >= LOOKUP_BATCH) await compare(chunk.splice(0));
      }
      if (chunk.length > 0) await compare(chunk.splice(0));
    } finally {
      // Let every started job settle before returning (or rethrowing): none may outlive the scan.
      await Promise.allSettled([...inFlight, ...inlineJobs]);
    }
    throwIfJobFailed();
    signal.throwIfAborted();
  }

  /**
   * One walked entry against the index: records a changed directory or
   * symlink right away and returns a changed file (to hash), or null when
   * there is nothing to read. Takes the entry's path out of `known`.
   */
  private triage(pass: ScanPass, raw: ScanEntry, prefix: string, known: Snapshot): ScanEntry | null {
    const onDisk = raw.diskPath ?? raw.path;
    const diskPath = prefix ? `${prefix}/${onDisk}` : onDisk;
    const path = normalizePath(prefix ? `${prefix}/${raw.path}` : raw.path);
    if (isInternalPath(path)) return null;
    if (!isSafeRelativePath(path)) {
      // Names we cannot sync safely (backslash, control characters, too long) stay local.
      this.noteUnreadable(pass, path, 'name cannot be synced');
      return null;
    }
    // Seen: taken out of `known`, so what is left there afterwards is what the walk did
    // not find (no second set of every path: ~10 MiB on a 100k-file rescan).
    const indexed = known.rows.get(path);
    if (indexed) known.rows.delete(path);
    if (indexed) known.seen?.add(indexed.rowid);
    const absentSince = indexed ? undefined : known.externalWrites;
    pass.run.files++;
    if (this.deps.isBusy(path)) return null;
    this.deps.onProgress();
    const entry: ScanEntry = { ...raw, path, diskPath };
    const complete = pass.sealIds && indexed?.idsWithheld === true && this.deps.keys.type === 'rw';
    if (isUnchanged(indexed, entry) && !complete) return null;
    // `known` was loaded before the walk. If the puller has written rows since, this
    // path may be one it was writing then (busy, so no row yet, or the old one) and has
    // recorded by now with exactly this stat: ask the index again before hashing. In an
    // initial sync nearly every watcher hint is such an echo of the puller's own write.
    // A local edit still differs from the current row, so it is hashed as before.
    if (known.externalWrites !== this.deps.externalWrites() && isUnchanged(this.deps.index.getFileStat(this.deps.folder, path), entry)) return null;
    if (entry.kind !== 'file') {
      this.deps.recorder.record(recordForEntry(entry, []), entry, absentSince);
      return null;
    }
    if (absentSince !== undefined) this.absentFromSnapshot.set(entry, absentSince);
    return entry;
  }

  private async hashAndRecord(pass: ScanPass, entry: ScanEntry): Promise<void> {
    const { signal } = pass;
    const absPath = join(this.deps.root, entry.diskPath ?? entry.path);
    const scanKeys = { contentKey: this.deps.keys.contentKey as Uint8Array, chunkKey: this.deps.keys.chunkKey as Uint8Array, sealIds: pass.sealIds };
    for (let attempt = 0; attempt <= MAX_HASH_RETRIES; attempt++) {
      let res;
      try {
        res = await this.deps.pool.hashFile(absPath, scanKeys, { signal, sizeHint: entry.size });
      } catch (err) {
        if (signal.aborted) throw err;
        if (errnoCode(err) === 'ENOENT') return; // gone since the walk: the watcher or next scan records the delete
        this.noteUnreadable(pass, entry.path, describeError(err));
        return;
      }
      if (res.changed) continue;
      pass.run.bytes += res.size;
      this.deps.onProgress();
      const read: ScanEntry = { ...entry, size: res.size, mtimeMs: res.mtimeMs, ino: res.ino ?? entry.ino };
      this.deps.recorder.record(recordForEntry(read, [], res.blocks), read, this.absentFromSnapshot.get(entry));
      return;
    }
    this.deps.log.info({ path: entry.path }, 'file kept changing while hashed; will retry on the next scan');
  }

  private onSkip(pass: ScanPass, notice: SkipNotice, prefix: string, skipped: string[]): void {
    const rel = normalizePath(prefix ? `${prefix}/${notice.path}` : notice.path);
    const reason = notice.detail ? `${notice.reason}: ${notice.detail}` : notice.reason;
    if (notice.reason === 'case-collision') {
      // Both names are still indexed; only case-insensitive peers will have trouble.
      this.deps.log.info({ path: rel }, 'names differ only in case');
      return;
    }
    // Not read: what the index holds below it must not turn into deletions.
    if (notice.reason === 'unreadable') skipped.push(rel);
    this.noteUnreadable(pass, rel, reason);
  }

  private noteUnreadable(pass: ScanPass, path: string, reason: string): void {
    if (pass.unreadable.size < MAX_UNREADABLE_LISTED) pass.unreadable.add(path);
    this.deps.log.warn({ path, reason }, 'path skipped');
  }
}

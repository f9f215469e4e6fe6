/**
 * Conflict resolution for the puller (rw folders): every losing concurrent
 * version is kept as a sync-conflict copy (the local file by link or copy,
 * a peer's by fetching it), the winner's content goes to the path, and a
 * version dominating them all is sealed and published. The names are
 * deterministic (conflicts.ts), so peers that both resolve meet on equal content.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { copyFile, link, rename } from 'node:fs/promises';
import { encodeSealedRecord, sealRecord } from '../../crypto/index.js';
import { SealsyncError } from '../../errors.js';
import { KNOWN_MISSING, applyRecord, type ApplyResult, type KnownLocal } from '../../fs/atomic-apply.js';
import { checkRelativePath, lstatOrNull, mkdirParentsSafe, resolveSafe } from '../../fs/safe-fs.js';
import type { LocalFile, RecordInput } from '../../index/index.js';
import { needFor, sameContent } from '../../model/needs.js';
import { lastWriter } from '../../model/version-vector.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import { conflictCopyPath, conflictCopyRecord, resolvedRecord } from './conflicts.js';
import type { PathWork, PullerDeps } from './pull-types.js';
import { diskFields, matchesLocal } from './pull-util.js';

/** What the puller lends the resolver: its deps, busy set, byte budget and apply helpers. */
export interface ConflictApplyContext {
  readonly deps: PullerDeps;
  readonly busy: Set<string>;
  readonly now: () => number;
  readonly fetchBlock: (ref: BlockRef, i: number, opts: { signal?: AbortSignal }) => Promise<Uint8Array>;
  readonly releaseBlock: (ref: BlockRef) => void;
  known(local: LocalFile | undefined): KnownLocal;
  applyTo(root: string, record: FileRecord, known: KnownLocal, signal: AbortSignal): Promise<ApplyResult>;
  /** The disk differs from the index: rescan and say whether to examine the path again (throws otherwise). */
  onLocalChange(w: PathWork, reason: string, signal: AbortSignal): Promise<boolean>;
}

export class ConflictApplier {
  constructor(private readonly ctx: ConflictApplyContext) {}

  /**
   * Concurrent versions (rw only): keep every loser as a conflict copy — the
   * local file by link/copy, remote losers by fetching them — put the
   * winner's content at the path, and publish a version dominating them all.
   */
  async resolve(w: PathWork, signal: AbortSignal): Promise<boolean> {
    const { root, index } = this.ctx.deps;
    const vectorId = index.vectorId;
    const { winner, local } = w;
    const localLoses =
      local !== undefined && !local.record.deleted && !sameContent(local.record, winner) && needFor(local.record, winner) === 'conflict';
    if (local && !local.record.deleted) {
      const st = await lstatOrNull(await resolveSafe(root, local.record.path));
      if (!matchesLocal(st, local)) return this.ctx.onLocalChange(w, 'local file changed', signal);
    }
    const losers = [...w.losers];
    if (localLoses && !losers.some((l) => sameContent(l, local.record))) losers.push(this.withWriter(local.record));
    for (const loser of losers) {
      const fromDisk = localLoses && local !== undefined && sameContent(loser, local.record);
      await this.keepConflictCopy(loser, fromDisk ? local : undefined, signal);
    }
    // The path gets the winner's content, with a version dominating everything held.
    const resolved = resolvedRecord(winner, [...w.versions.map((v) => v.version), ...(local ? [local.record.version] : [])], vectorId);
    if (!local || local.record.deleted || !sameContent(local.record, winner)) {
      const known = localLoses && local.record.kind !== 'file' ? KNOWN_MISSING : this.ctx.known(local);
      const res = await applyRecord(root, resolved, {
        known,
        fetchBlock: this.ctx.fetchBlock,
        onBlockWritten: this.ctx.releaseBlock,
        hashBlock: this.ctx.deps.hashBlock,
        archive: !localLoses, // a losing local file is kept as its conflict copy already
        now: () => new Date(this.ctx.now()),
        signal,
      });
      if (res.status === 'conflict') return this.ctx.onLocalChange(w, res.reason, signal);
      if (res.archived) this.ctx.deps.onArchived?.(res.archived, resolved);
      this.ctx.deps.onApplied?.(winner.path, local && !local.record.deleted ? 'modified' : 'added', resolved);
    }
    await this.recordLocal(resolved, true);
    this.ctx.deps.logger?.info({ path: winner.path, copies: losers.length }, 'conflict resolved');
    return false;
  }

  /** The files table keeps no writer: a losing local edit is this device's unless its held record says otherwise. */
  private withWriter(record: FileRecord): FileRecord {
    if (record.writer !== undefined || this.ctx.deps.deviceId === undefined) return record;
    return { ...record, writer: this.ctx.deps.deviceId };
  }

  /** Keeps `loser` at its conflict-copy path (from the local file, or fetched) and publishes it. */
  private async keepConflictCopy(loser: FileRecord, fromLocal: LocalFile | undefined, signal: AbortSignal): Promise<void> {
    const { index, folder } = this.ctx.deps;
    const copyPath = conflictCopyPath(loser);
    const existing = index.getFile(folder, copyPath);
    if (existing && !existing.record.deleted && sameContent(existing.record, loser)) return; // kept already (here or by a peer)
    const copy = conflictCopyRecord(loser, existing?.record.version ?? [], index.vectorId);
    this.ctx.busy.add(copyPath); // the scanner must not record the copy before we do
    try {
      await this.writeConflictCopy(copy, fromLocal, signal);
    } finally {
      this.ctx.busy.delete(copyPath);
    }
    this.ctx.deps.onConflictCopy?.(loser.path, copyPath, lastWriter(loser.version), loser.writer ?? null, loser);
  }

  private async writeConflictCopy(copy: FileRecord, fromLocal: LocalFile | undefined, signal: AbortSignal): Promise<void> {
    const { root, index, folder } = this.ctx.deps;
    const copyPath = copy.path;
    const existing = index.getFile(folder, copyPath);
    const { abs: copyAbs } = await mkdirParentsSafe(root, copyPath);
    if (fromLocal) {
      const localAbs = await resolveSafe(root, fromLocal.record.path);
      if ((await lstatOrNull(copyAbs)) !== null) {
        throw new SealsyncError('ERR_PATH_UNSAFE', 'conflict copy name is taken', { path: copyPath });
      }
      if (fromLocal.record.kind === 'file') {
        // A link keeps the content at the path until the winner atomically replaces it.
        try {
          await link(localAbs, copyAbs);
        } catch {
          await copyFile(localAbs, copyAbs, fsConstants.COPYFILE_EXCL);
        }
      } else {
        await rename(localAbs, copyAbs);
      }
    } else {
      const res = await this.ctx.applyTo(root, copy, this.ctx.known(existing), signal);
      if (res.status === 'conflict') throw new SealsyncError('ERR_PATH_UNSAFE', `conflict copy path is in use (${res.reason})`, { path: copyPath });
    }
    await this.recordLocal(copy, true);
  }

  /**
   * Writes the files row for a path just applied (disk stat for the rescan
   * shortcut) and, when `publish`, seals the record with the rw key so it goes
   * out like any local change.
   */
  async recordLocal(record: FileRecord, publish: boolean): Promise<void> {
    const { index, folder, keys, root } = this.ctx.deps;
    checkRelativePath(record.path);
    let st: Stats | null = null;
    if (!record.deleted) st = await lstatOrNull(await resolveSafe(root, record.path));
    let sealed: RecordInput | undefined;
    if (publish) {
      if (this.ctx.deps.type !== 'rw') throw new SealsyncError('ERR_FOLDER_TYPE', 'a read-only folder never publishes');
      const s = sealRecord(keys, record);
      sealed = {
        locator: s.locator,
        version: s.version,
        blockIds: s.blockIds,
        sealed: encodeSealedRecord(s),
        plain: { kind: record.kind, size: record.size, mtimeMs: record.mtimeMs, deleted: record.deleted },
      };
    }
    this.ctx.deps.beforeRecord?.();
    index.writeLocalFile(folder, { record, ...diskFields(st), localChange: false }, sealed);
    if (publish) this.ctx.deps.onPublished?.();
  }
}

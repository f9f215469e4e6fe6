/**
 * Test helper: an in-process "device" for sync tests — a folder root, a real
 * in-memory index, real keys and a minimal scanner (fixed-size blocks) — plus
 * record exchange and block serving between two such devices, so the puller
 * and the coordinator can be tested without the network or the real scanner.
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSealedRecord,
  digest,
  encodeSealedRecord,
  openRecord,
  plaintextHash,
  sealBlock,
  sealRecord,
  toHex,
  type FolderKeys,
} from '../../crypto/index.js';
import { openIndex, type Index, type RecordInput } from '../../index/index.js';
import { bumpVector } from '../../model/version-vector.js';
import { sameContent } from '../../model/needs.js';
import { isExecutable } from '../../model/file-mode.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import type { BlockPeer } from '../sync/block-scheduler.js';
import type { FileHasher, LocalFolderFs, WalkOptions } from '../local/local-folder-fs.js';
import type { ScanEntry } from '../local/scan-diff.js';
import { TEMP_PREFIX } from '../../fs/temp-files.js';

export const TEST_BLOCK_SIZE = 64 * 1024;

export interface TestDevice {
  readonly name: string;
  readonly root: string;
  readonly index: Index;
  readonly folder: number;
  readonly keys: FolderKeys;
  readonly type: 'rw' | 'ro';
  close(): Promise<void>;
}

/**
 * `withholdIds`: the folder has had no encrypted peer, so its scans withhold
 * block ids (docs/crypto.md §4.4) until one joins; by default scans seal.
 */
export async function makeDevice(name: string, keys: FolderKeys, opts: { withholdIds?: boolean } = {}): Promise<TestDevice> {
  const root = await mkdtemp(join(tmpdir(), `sealsync-${name}-`));
  return openDevice(name, keys, root, ':memory:', opts);
}

/** A device over an existing root and an index file (reopened across processes in crash tests). */
export function openDevice(name: string, keys: FolderKeys, root: string, indexPath: string, opts: { withholdIds?: boolean } = {}): TestDevice {
  const index = openIndex(indexPath);
  const type = keys.type === 'rw' ? 'rw' : 'ro';
  const row = index.folderByFolderId(toHex(keys.folderId)) ?? index.addFolder({ path: root, folderId: toHex(keys.folderId), type });
  // Scans seal blocks for their ids, as in a folder that has an encrypted peer: diskPeer
  // serves sealed blocks by id (a folder without one withholds ids; docs/crypto.md §4.4).
  if (opts.withholdIds !== true) index.markSealsBlockIds(row.rowId);
  return {
    name, root, index, folder: row.rowId, keys, type,
    async close() {
      index.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export function recordInput(keys: FolderKeys, record: FileRecord): RecordInput {
  const s = sealRecord(keys, record);
  return {
    locator: s.locator, version: s.version, blockIds: s.blockIds, sealed: encodeSealedRecord(s),
    plain: { kind: record.kind, size: record.size, mtimeMs: record.mtimeMs, deleted: record.deleted },
  };
}

/**
 * Minimal scanner for one path: records what is on disk as a new local
 * version (rw: sealed and stored; ro: flagged as a local change).
 */
export async function scanPath(dev: TestDevice, rel: string): Promise<FileRecord | null> {
  const abs = join(dev.root, rel);
  const existing = dev.index.getFile(dev.folder, rel);
  const st = await lstat(abs).catch(() => null);
  const version = bumpVector(existing?.record.version ?? [], dev.index.vectorId);
  let record: FileRecord;
  if (st === null) {
    if (!existing || existing.record.deleted) return null;
    record = { ...existing.record, deleted: true, blocks: [], size: 0, version };
  } else if (st.isSymbolicLink()) {
    record = { path: rel, kind: 'symlink', size: 0, mtimeMs: Math.floor(st.mtimeMs), mode: 0o777, blocks: [], symlinkTarget: await readlink(abs), version, deleted: false };
  } else if (st.isDirectory()) {
    record = { path: rel, kind: 'dir', size: 0, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o777, blocks: [], version, deleted: false };
  } else {
    const data = await readFile(abs);
    const blocks: BlockRef[] = [];
    for (let o = 0; o < data.length; o += TEST_BLOCK_SIZE) {
      const part = data.subarray(o, Math.min(o + TEST_BLOCK_SIZE, data.length));
      const { id, hash } = sealBlock(dev.keys.contentKey!, part);
      blocks.push({ id, hash, size: part.length });
    }
    record = { path: rel, kind: 'file', size: data.length, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o777, blocks, version, deleted: false };
  }
  if (existing && sameContent(existing.record, record) && (record.deleted || record.kind === 'symlink' || existing.record.mode === record.mode)) {
    return existing.record; // unchanged (like LocalFolder: no new version for a touch)
  }
  if (dev.type === 'rw') {
    dev.index.writeLocalFile(dev.folder, { record, diskMtimeMs: st?.mtimeMs ?? 0, ino: st?.ino ?? 0, dev: st?.dev ?? 0 }, recordInput(dev.keys, record));
  } else {
    // ro: keep the global version, flag the difference
    dev.index.writeLocalFile(dev.folder, {
      record: { ...record, version: existing?.record.version ?? [] },
      diskMtimeMs: st?.mtimeMs ?? 0, ino: st?.ino ?? 0, dev: st?.dev ?? 0, localChange: true,
    });
  }
  return record;
}

/** Copies every record `from` holds into `to` (as the index exchange would); returns the locators stored. */
export function exchangeRecords(from: TestDevice, to: TestDevice): Uint8Array[] {
  const stored: Uint8Array[] = [];
  for (const r of from.index.recordsSince(from.folder, 0, 10_000)) {
    const sealed = decodeSealedRecord(r.sealed);
    const rec = openRecord(to.keys, sealed);
    const res = to.index.putRemoteRecord(to.folder, {
      locator: sealed.locator, version: sealed.version, blockIds: sealed.blockIds, sealed: r.sealed,
      plain: { kind: rec.kind, size: rec.size, mtimeMs: rec.mtimeMs, deleted: rec.deleted },
    });
    if (res.stored) stored.push(sealed.locator);
  }
  return stored;
}

/** A block peer backed by another device's disk (reads and seals, checks the id). */
export function diskPeer(dev: TestDevice, counters = { requests: 0 }): BlockPeer & { penalties: string[] } {
  const penalties: string[] = [];
  return {
    id: dev.name,
    penalties,
    penalize: (r) => penalties.push(r),
    async requestBlock(ref) {
      counters.requests++;
      const blockId = ref.id;
      if (blockId === null) return null;
      const loc = dev.index.findBlockById(blockId);
      if (!loc) return null;
      const fh = await open(join(dev.root, loc.path), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(() => null);
      if (!fh) return null;
      try {
        const buf = Buffer.alloc(loc.size);
        const { bytesRead } = await fh.read(buf, 0, loc.size, loc.offset);
        if (bytesRead !== loc.size) return null;
        const s = sealBlock(dev.keys.contentKey!, buf);
        return Buffer.compare(Buffer.from(s.id), Buffer.from(blockId)) === 0 ? s.sealed : null;
      } finally {
        await fh.close();
      }
    },
  };
}

export const hashBlock = (d: Uint8Array): Uint8Array => digest(d);

/** A comparable snapshot of a tree: what is synced (kind, a file's exec bit and content digest, a link's target). Skips `.sealsync`. */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const { readdir } = await import('node:fs/promises');
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.sealsync' || e.name.startsWith(TEMP_PREFIX)) continue;
      const st = await lstat(join(root, r));
      if (st.isSymbolicLink()) out[r] = `link:${await readlink(join(root, r))}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        await walk(r);
      } else out[r] = `file:${isExecutable(st.mode) ? 'x' : '-'}:${toHex(digest(await readFile(join(root, r))))}`;
    }
  };
  await walk('');
  return out;
}

/**
 * LocalFolder's fs services for tests: a recursive readdir walker, exact-name
 * ignore rules, no watcher, and a hasher that makes real sealed-block ids with
 * fixed-size blocks (so blocks served by SyncFolder verify like real ones).
 */
export function testLocalFolderFs(): { fs: LocalFolderFs; pool: FileHasher } {
  async function* walk(root: string, opts: WalkOptions, rel = ''): AsyncIterable<ScanEntry> {
    const { readdir } = await import('node:fs/promises');
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      if (p === '.sealsync' || name.startsWith(TEMP_PREFIX)) continue;
      const st = await lstat(join(root, p)).catch(() => null);
      if (st === null || opts.ignore.ignores(p, st.isDirectory())) continue;
      const base = { path: p, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, ino: st.ino, dev: st.dev };
      if (st.isDirectory()) {
        yield { ...base, kind: 'dir', size: 0 };
        yield* walk(root, opts, p);
      } else if (st.isSymbolicLink()) yield { ...base, kind: 'symlink', symlinkTarget: await readlink(join(root, p)) };
      else if (st.isFile()) yield { ...base, kind: 'file' };
    }
  }
  const pool: FileHasher = {
    inlineMaxBytes: 0,
    async hashFile(absPath, keys, opts) {
      opts.signal?.throwIfAborted();
      const before = await lstat(absPath);
      const data = await readFile(absPath);
      const blocks: BlockRef[] = [];
      for (let o = 0; o < data.length; o += TEST_BLOCK_SIZE) {
        const part = data.subarray(o, Math.min(o + TEST_BLOCK_SIZE, data.length));
        if (keys.sealIds) {
          const { id, hash } = sealBlock(keys.contentKey, part);
          blocks.push({ id, hash, size: part.length });
        } else {
          blocks.push({ id: null, hash: plaintextHash(part), size: part.length });
        }
      }
      const after = await lstat(absPath);
      return { blocks, size: data.length, mtimeMs: after.mtimeMs, changed: before.mtimeMs !== after.mtimeMs || before.size !== after.size };
    },
  };
  const fs: LocalFolderFs = {
    walk: (root, opts) => walk(root, opts),
    loadIgnore: async () => ({ ignores: () => false }),
    createWatcher: () => ({ start: () => undefined, stop: () => undefined }),
  };
  return { fs, pool };
}

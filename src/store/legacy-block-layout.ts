/**
 * The block store's old file-per-block layouts, moved into packs by
 * BlockStore.open (block-store.ts): this module finds, reads and deletes the
 * old files; the store appends and commits each batch.
 *
 * Stores made before packs kept a file per block: <root>/blocks/ab/<id>
 * (live), <root>/retained/ab/<id> (retained, the mtime is `since`), and
 * before that <root>/blocks/ab/cd/<id>. `migrateLegacyLayout` moves them
 * MIGRATION_BATCH_BLOCKS at a time: the store appends the batch's blocks,
 * fdatasyncs and commits their rows, then the batch's files are deleted. A
 * crash before the commit leaves the files (the next open migrates them
 * again); after it, the files are copies of blocks the database holds, and
 * the next open deletes them without copying. Every block ends up exactly
 * once. The same walk removes temp files a crash left in the old layout (the
 * only listing of the old directories: open used to list them twice, for the
 * layout move and for stale temp files). Migration copies every block once,
 * so the first start of an old store reads and writes its whole size before
 * the folder runs. Directories are removed once empty; anything else found in
 * them is left where it is.
 */
import { readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNoEnt, readdirOrEmpty } from '../fs/safe-fs.js';
import { BLOCK_HEX_ID_RE, type BlockArea } from '../index/block-store-db.js';

/**
 * Blocks of the file-per-block layout moved per transaction at open: one
 * fdatasync and one commit per 1,024 blocks (128 MiB of 128 KiB blocks, the
 * page cache absorbs it), and an interrupted migration redoes at most this.
 */
export const MIGRATION_BATCH_BLOCKS = 1024;

/** The areas of the file-per-block layout, migrated into packs on open. */
const LEGACY_DIRS: readonly (readonly [string, BlockArea])[] = [['blocks', 'live'], ['retained', 'retained']];
const LEGACY_TEMP_PREFIX = '.tmp-';
const FAN_RE = /^[0-9a-f]{2}$/;
/** Fan-out levels below an area directory: ab/<id>, or ab/cd/<id> in the oldest layout. */
const MAX_FAN_DEPTH = 2;

/** A block read from an old-layout file, to be appended to a pack. */
export interface LegacyBlock {
  readonly hex: string;
  readonly data: Buffer;
  /** The file's mtime (ms): for a retained block, when it became unreferenced. */
  readonly since: number;
}

export interface LegacyMigrationTarget {
  /** Largest block accepted: a larger file is not a block and is left where it is. */
  readonly maxBlockBytes: number;
  /** Whether the store holds the block (committed): its file is a copy and can go. */
  held(hex: string): boolean;
  /**
   * Appends the blocks (read one at a time) and commits them durably;
   * returns how many it stored. The batch's files are deleted after this.
   */
  commitBatch(blocks: AsyncIterable<LegacyBlock>, area: BlockArea): Promise<number>;
  /** Called for each crash leftover (temp file) removed. */
  onStaleTemp(): void;
}

/** Moves every block file of the old layouts under `root` into the store; returns how many blocks were stored. */
export async function migrateLegacyLayout(root: string, target: LegacyMigrationTarget): Promise<number> {
  let migrated = 0;
  for (const [dirName, area] of LEGACY_DIRS) {
    const base = join(root, dirName);
    const top = await readdirOrEmpty(base);
    if (top.length === 0) {
      await rmdir(base).catch(() => undefined);
      continue;
    }
    let batch: { path: string; hex: string }[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length > 0) {
        migrated += await target.commitBatch(readBatch(batch, target), area);
        for (const f of batch) if (target.held(f.hex)) await rm(f.path, { force: true });
      }
      batch = [];
    };
    const visit = async (dir: string, depth: number): Promise<void> => {
      for (const name of await readdirOrEmpty(dir)) {
        const path = join(dir, name);
        if (name.startsWith(LEGACY_TEMP_PREFIX)) {
          await rm(path, { force: true });
          target.onStaleTemp();
        } else if (BLOCK_HEX_ID_RE.test(name)) {
          batch.push({ path, hex: name });
          if (batch.length >= MIGRATION_BATCH_BLOCKS) await flush();
        } else if (depth < MAX_FAN_DEPTH && FAN_RE.test(name)) {
          await visit(path, depth + 1);
        }
      }
    };
    await visit(base, 0);
    await flush();
    // Left in place when something else is in them (nothing of ours is lost).
    const removeEmpty = async (dir: string, depth: number): Promise<void> => {
      if (depth < MAX_FAN_DEPTH) for (const name of await readdirOrEmpty(dir)) if (FAN_RE.test(name)) await removeEmpty(join(dir, name), depth + 1);
      await rmdir(dir).catch(() => undefined);
    };
    await removeEmpty(base, 0);
  }
  return migrated;
}

/**
 * The blocks of a batch the store does not hold yet, read one at a time.
 * Skipped: held ones (an interrupted run committed it), a second copy in this
 * batch, files gone meanwhile, and files too large to be a block.
 */
async function* readBatch(files: readonly { path: string; hex: string }[], target: LegacyMigrationTarget): AsyncGenerator<LegacyBlock> {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.hex) || target.held(f.hex)) continue;
    let data: Buffer;
    let since: number;
    try {
      since = Math.round((await stat(f.path)).mtimeMs);
      data = await readFile(f.path);
    } catch (err) {
      if (isNoEnt(err)) continue;
      throw err;
    }
    if (data.byteLength > target.maxBlockBytes) continue; // not a block: left where it is
    seen.add(f.hex);
    yield { hex: f.hex, data, since };
  }
}

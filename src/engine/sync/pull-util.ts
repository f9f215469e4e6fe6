/**
 * Small parts of the puller: the cache of records opened on receipt, a byte
 * budget for fetched plaintext, a bounded parallel map, and the path and stat helpers its passes share.
 */
import { toHex } from '../../crypto/bytes.js';
import type { Stats } from 'node:fs';
import { decodeSealedRecord, openRecord, type FolderKeys } from '../../crypto/index.js';
import { describeError } from '../../errors.js';
import type { LocalFile, StoredRecord } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { FileRecord } from '../../model/types.js';
import { vectorKey } from '../../model/version-vector.js';

/** Records opened on receipt kept for the next pass (saves a second signature check). */
export const MAX_OPENED_CACHE = 50_000;

/** Records as opened (verified) on receipt, so a pass need not verify them again. */
export class OpenedRecords {
  /** locator hex | version key → the record. */
  private readonly cache = new Map<string, FileRecord>();

  constructor(private readonly keys: FolderKeys, private readonly logger: Logger | undefined) {}

  note(locator: Uint8Array, record: FileRecord): void {
    if (this.cache.size >= MAX_OPENED_CACHE) this.cache.clear();
    this.cache.set(`${toHex(locator)}|${vectorKey(record.version)}`, record);
  }

  /** The held versions of a path, opened (from the cache, else verified now); corrupt ones are skipped. */
  open(records: readonly StoredRecord[]): FileRecord[] {
    const out: FileRecord[] = [];
    for (const r of records) {
      const key = `${toHex(r.locator)}|${vectorKey(r.version)}`;
      const cached = this.cache.get(key);
      if (cached) {
        this.cache.delete(key);
        out.push(cached);
        continue;
      }
      try {
        out.push(openRecord(this.keys, decodeSealedRecord(r.sealed)));
      } catch (err) {
        // Verified when stored; a failure here means local corruption. Skip it.
        this.logger?.warn({ err: describeError(err) }, 'stored record does not open');
      }
    }
    return out;
  }
}


export function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}

/** A byte budget for fetched plaintext in memory (fair FIFO). */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  constructor(private readonly limit: number) {}
  async take(n: number): Promise<void> {
    const want = Math.min(n, this.limit); // one huge block may still pass alone
    if (this.used + want <= this.limit && this.waiters.length === 0) {
      this.used += want;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ n: want, resolve }));
  }
  give(n: number): void {
    this.used -= Math.min(n, this.limit);
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.limit) {
      const w = this.waiters.shift()!;
      this.used += w.n;
      w.resolve();
    }
  }
}

/**
 * The stat fields of a files row, as the scanner takes them (whole
 * milliseconds, see fs/walk.ts): with the raw sub-millisecond mtime every
 * file the puller wrote looked changed to the next scan and was hashed again.
 */
export function diskFields(st: Stats | null): { diskMtimeMs: number; ino: number; dev: number } {
  return { diskMtimeMs: st ? Math.floor(st.mtimeMs) : 0, ino: st?.ino ?? 0, dev: st?.dev ?? 0 };
}

export function matchesLocal(st: Stats | null, local: LocalFile): boolean {
  const r = local.record;
  if (st === null) return r.deleted;
  if (r.kind === 'file') return st.isFile() && st.size === r.size && Math.floor(st.mtimeMs) === Math.floor(local.diskMtimeMs);
  if (r.kind === 'dir') return st.isDirectory();
  return st.isSymbolicLink();
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}


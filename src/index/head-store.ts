/**
 * Where signed heads live in index.db (docs/crypto.md 5): per folder and
 * writer, the newest root and the newest version held of each page
 * (src/crypto/signed-head.ts, format 3), verbatim. Shares the index's
 * connection. The caller (src/engine/peer/head-book.ts) verified every part;
 * this only decides what is newer and what is kept:
 *
 * - a root replaces an older root of its writer and drops the writer's pages
 *   of another layout (page bits) that are not newer than it;
 * - a page replaces an older version of the same page index, but not when a
 *   newer root of its writer has another layout;
 * - the same number with other bytes (a root, or a page of one index) is a
 *   conflict: two heads with one number, which an honest writer never makes.
 *
 * It also answers what a writer needs to re-sign only the pages that changed:
 * the records' locators stored since its last head (by seq), and the versions
 * held in one page's locator range (the records index is on the locator's
 * first 8 bytes, which is what headPageRange gives).
 */
import type Database from 'better-sqlite3';
import type { HeadEntry, SignedHeadPart } from '../crypto/signed-head.js';
import { parseVectorKey } from '../model/version-vector.js';

/** The page index a root is stored under. */
export const ROOT_PAGE_INDEX = -1;

export type HeadStoreOutcome = 'stored' | 'same' | 'stale' | 'conflict';

/** One stored part, without its bytes. */
export interface HeadPartRow {
  readonly writer: string;
  /** ROOT_PAGE_INDEX for the root. */
  readonly pageIndex: number;
  readonly number: number;
  readonly pageBits: number;
}

interface StoredRow {
  rowid: number;
  number: number;
  page_bits: number;
  bytes: Buffer;
}

/** The fields of a part the store needs. */
type PartToStore = Pick<SignedHeadPart, 'kind' | 'writer' | 'number' | 'pageBits' | 'bytes'> & { readonly pageIndex?: number };

export class HeadStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    const KEY8 = 'substr(locator, 1, 8)';
    this.s = {
      part: db.prepare('SELECT rowid, number, page_bits, bytes FROM heads WHERE folder = ? AND writer = ? AND page_index = ?'),
      insert: db.prepare('INSERT INTO heads (folder, writer, page_index, number, page_bits, made_at_seq, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      replace: db.prepare('UPDATE heads SET number = ?, page_bits = ?, made_at_seq = ?, bytes = ? WHERE rowid = ?'),
      dropOtherLayout: db.prepare('DELETE FROM heads WHERE folder = ? AND writer = ? AND page_index <> ? AND page_bits <> ? AND number <= ?'),
      rows: db.prepare('SELECT writer, page_index, number, page_bits FROM heads WHERE folder = ? ORDER BY writer, page_index'),
      bytes: db.prepare('SELECT bytes FROM heads WHERE folder = ? AND writer = ? AND page_index = ?').pluck(),
      allBytes: db.prepare('SELECT bytes FROM heads WHERE folder = ? ORDER BY writer, page_index').pluck(),
      madeAtSeq: db.prepare('SELECT made_at_seq FROM heads WHERE folder = ? AND writer = ? AND page_index = ?').pluck(),
      setMadeAtSeq: db.prepare('UPDATE heads SET made_at_seq = ? WHERE folder = ? AND writer = ? AND page_index = ?'),
      folderSeq: db.prepare('SELECT seq FROM folders WHERE id = ?').pluck(),
      locatorsSince: db.prepare('SELECT locator FROM records WHERE folder = ? AND seq > ?').pluck(),
      recordCount: db.prepare('SELECT COUNT(*) FROM records WHERE folder = ?').pluck(),
      rangeFrom: db.prepare(`SELECT locator, version_key FROM records WHERE folder = ? AND ${KEY8} >= ?`),
      rangeBetween: db.prepare(`SELECT locator, version_key FROM records WHERE folder = ? AND ${KEY8} >= ? AND ${KEY8} < ?`),
    };
  }

  /** Keeps one verified part when it is newer than what is held (see the header). */
  store(folder: number, part: PartToStore, madeAtSeq: number | null = null): HeadStoreOutcome {
    const pageIndex = part.kind === 'root' ? ROOT_PAGE_INDEX : part.pageIndex ?? 0;
    const run = (): HeadStoreOutcome => {
      if (part.kind === 'page') {
        const root = this.s.part.get(folder, part.writer, ROOT_PAGE_INDEX) as StoredRow | undefined;
        if (root && root.page_bits !== part.pageBits && part.number <= root.number) return 'stale';
      }
      const held = this.s.part.get(folder, part.writer, pageIndex) as StoredRow | undefined;
      if (held && part.number < held.number) return 'stale';
      if (held && part.number === held.number) return Buffer.compare(held.bytes, part.bytes) === 0 ? 'same' : 'conflict';
      if (held) this.s.replace.run(part.number, part.pageBits, madeAtSeq, part.bytes, held.rowid);
      else this.s.insert.run(folder, part.writer, pageIndex, part.number, part.pageBits, madeAtSeq, part.bytes);
      if (part.kind === 'root') this.s.dropOtherLayout.run(folder, part.writer, ROOT_PAGE_INDEX, part.pageBits, part.number);
      return 'stored';
    };
    return this.db.inTransaction ? run() : this.db.transaction(run)();
  }

  /** Every part held for a folder, without bytes. */
  rows(folder: number): HeadPartRow[] {
    return (this.s.rows.all(folder) as Array<{ writer: string; page_index: number; number: number; page_bits: number }>)
      .map((r) => ({ writer: r.writer, pageIndex: r.page_index, number: r.number, pageBits: r.page_bits }));
  }

  /** One part's bytes (ROOT_PAGE_INDEX for the root), or null. */
  bytesOf(folder: number, writer: string, pageIndex: number): Uint8Array | null {
    const b = this.s.bytes.get(folder, writer, pageIndex) as Buffer | undefined;
    return b ? new Uint8Array(b) : null;
  }

  /** Every part held, one at a time (what a peer that joins is sent). */
  *allBytes(folder: number): Generator<Uint8Array> {
    for (const b of this.s.allBytes.iterate(folder) as Iterable<Buffer>) yield new Uint8Array(b);
  }

  /** The record seq a writer's own root was made at (null: none, or not made here). */
  madeAtSeq(folder: number, writer: string): number | null {
    return (this.s.madeAtSeq.get(folder, writer, ROOT_PAGE_INDEX) as number | null | undefined) ?? null;
  }

  /** Notes that a writer's own root still says everything up to record `seq` (nothing it lists changed). */
  setMadeAtSeq(folder: number, writer: string, seq: number): void {
    this.s.setMadeAtSeq.run(seq, folder, writer, ROOT_PAGE_INDEX);
  }

  /** The folder's newest record seq. */
  recordSeq(folder: number): number {
    return (this.s.folderSeq.get(folder) as number | undefined) ?? 0;
  }

  /** How many records (locator, version) the folder holds: what a head lists. */
  recordCount(folder: number): number {
    return this.s.recordCount.get(folder) as number;
  }

  /** Locators of the records stored after `seq` (each once). */
  locatorsSince(folder: number, seq: number): Uint8Array[] {
    const seen = new Map<string, Uint8Array>();
    for (const b of this.s.locatorsSince.iterate(folder, seq) as Iterable<Buffer>) seen.set(b.toString('hex'), new Uint8Array(b));
    return [...seen.values()];
  }

  /** The (locator, version) of every record whose locator starts in [lo, hi) (hi null: to the end). Unsorted. */
  versionsInRange(folder: number, lo: Uint8Array, hi: Uint8Array | null): HeadEntry[] {
    const rows = (hi ? this.s.rangeBetween.all(folder, lo, hi) : this.s.rangeFrom.all(folder, lo)) as Array<{ locator: Buffer; version_key: string }>;
    return rows.map((r) => ({ locator: new Uint8Array(r.locator), version: parseVectorKey(r.version_key) }));
  }
}

/**
 * The index rows a full scan's walk reached, as one bit per files rowid, in
 * pages of PAGE_BITS bits made on first use. The deletion pass asks, for each
 * row that existed when the scan began, whether the walk reached it.
 *
 * Why rowids and not paths: the walk compares every entry with its row, so
 * the row's rowid is at hand, and a bit per rowid costs 125 KiB at a million
 * rows where a hash per path cost 16 MiB (24 MiB while the table grew). It is
 * also exact: two paths cannot share a rowid, where two hashed paths could
 * collide. Rowids above the scan's `limit` are never deletions (rows written
 * after the scan began), so they are not kept.
 *
 * Memory is bounded by the rows actually marked: a page is PAGE_BYTES, made
 * only when a rowid in its range is marked, so the worst case (every marked
 * row in a page of its own) is limit / 8 bytes, one bit per rowid.
 */
import { SealsyncError } from '../../errors.js';

const PAGE_BITS = 1 << 16;
const PAGE_BYTES = PAGE_BITS / 8;

export class SeenRows {
  private readonly pages = new Map<number, Uint8Array>();
  private marked = 0;

  /** `limit`: the highest rowid when the scan began (index.lastFileRowId()). */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', `row limit must be a non-negative integer, got ${limit}`);
  }

  /** Rows marked (each counted once). */
  get size(): number {
    return this.marked;
  }

  /** Notes that the walk reached the row `rowid`; rows above the limit are not kept. */
  add(rowid: number): void {
    if (!this.tracks(rowid)) return;
    const key = Math.floor(rowid / PAGE_BITS);
    let page = this.pages.get(key);
    if (!page) {
      page = new Uint8Array(PAGE_BYTES);
      this.pages.set(key, page);
    }
    const bit = rowid % PAGE_BITS;
    const mask = 1 << (bit & 7);
    if ((page[bit >>> 3]! & mask) !== 0) return;
    page[bit >>> 3]! |= mask;
    this.marked++;
  }

  has(rowid: number): boolean {
    if (!this.tracks(rowid)) return false;
    const page = this.pages.get(Math.floor(rowid / PAGE_BITS));
    const bit = rowid % PAGE_BITS;
    return page !== undefined && (page[bit >>> 3]! & (1 << (bit & 7))) !== 0;
  }

  /** Bytes held by the bitmap pages. */
  get bytes(): number {
    return this.pages.size * PAGE_BYTES;
  }

  private tracks(rowid: number): boolean {
    return Number.isSafeInteger(rowid) && rowid > 0 && rowid <= this.limit;
  }
}

/**
 * HeadBook: one folder's signed heads (docs/crypto.md 5, src/crypto/signed-head.ts),
 * shared by the full peer's SyncFolder and the encrypted peer's ReplicaFolder.
 *
 * - Keeps, per writer, the newest root and the newest version of each page
 *   seen (in the index, src/index/head-store.ts, so a restart forgets
 *   nothing), and hands them out to forward to every peer.
 * - Answers "is this record older than what a head I have seen commits to?"
 *   (newerThan): a record whose version is strictly dominated by a version a
 *   page lists for its locator is a replay, a resurrection or a piece of a
 *   mixed state, and is refused. A concurrent version is not older: it is a
 *   conflict the puller resolves as usual.
 * - Makes this device's own head (rw only), re-signing only the pages whose
 *   range holds a record stored since its last head, and a new root; stored
 *   (number included) before it is published, so a crash can never yield two
 *   heads with one number: after a restart the next head takes the next number.
 * - Reports integrity problems for the status: records refused as older than
 *   a head, two different heads with one number, and "the server may be
 *   withholding updates from DEVICE since TIME" when a root known for longer
 *   than the grace period names pages, or pages list versions, that this
 *   device still does not hold.
 *
 * Memory: per writer only the root's page numbers and each page's number and
 * layout (a few bytes per page, ~600 paths a page), never the entries. A
 * record is checked against its page's stored bytes (HeadPageLookup), and
 * the pages last looked at are cached up to PAGE_CACHE_BYTES.
 *
 * What it cannot do (docs/crypto.md): a device that has only ever seen heads
 * through one relay cannot tell whether that relay withholds newer heads.
 */
import { formatDeviceId } from '../../crypto/device-id.js';
import type { FolderKeys } from '../../crypto/keys.js';
import {
  HeadPageLookup, MAX_HEAD_PAGE_BITS, checkHeadPage, decodeHeadPage, headEntryBytes, headPageBits, headPageOf, headPageRange, signHeadPage, signHeadRoot,
  sortHeadEntries, type HeadEntry, type SignedHeadPart,
} from '../../crypto/signed-head.js';
import { SealsyncError, isSealsyncError } from '../../errors.js';
import type { Index } from '../../index/index.js';
import { ROOT_PAGE_INDEX } from '../../index/head-store.js';
import type { VersionVector } from '../../model/types.js';
import { compareVectors, vectorKey } from '../../model/version-vector.js';
import type { IntegrityProblem } from './status-schema.js';

/** A known head's versions may still be on their way this long before their absence is reported. */
export const WITHHOLD_GRACE_MS = 60_000;
/** The withholding check looks pages up in the index: at most this often. */
export const WITHHOLD_CHECK_INTERVAL_MS = 5_000;
/** Writers whose heads are kept (one per writing device database; more is hostile or absurd). */
export const MAX_HEAD_WRITERS = 1024;
/** Bytes of stored pages kept in memory to check records against (the pages used last). */
export const PAGE_CACHE_BYTES = 4 * 1024 * 1024;

/** This device's own head is made this long after its view last changed (a burst of edits makes one head). */
export const HEAD_DELAY_MS = 1_000;

export type HeadReceipt =
  | { readonly outcome: 'stored' | 'same' | 'stale' | 'conflict'; readonly part: SignedHeadPart }
  | { readonly outcome: 'invalid'; readonly code: string };

/** The head a record was checked against: the number of the page that lists a newer version. */
export interface HeadRef {
  readonly writer: string;
  readonly device: string;
  readonly number: number;
}

/** This device's new head: the parts made (page indexes, ROOT_PAGE_INDEX last), to read with partBytes and send. */
export interface OwnHead {
  readonly writer: string;
  readonly number: number;
  readonly parts: readonly number[];
}

interface RootState {
  readonly number: number;
  readonly timeMs: number;
  readonly pageBits: number;
  readonly pageNumbers: readonly number[];
  /** When this device first held this root (its own clock). */
  readonly knownAt: number;
}

interface PageState {
  readonly number: number;
  readonly pageBits: number;
}

interface WriterState {
  device: string;
  root: RootState | null;
  readonly pages: Map<number, PageState>;
  /**
   * Per page index, the page number found complete (every version it lists is
   * held; it stays so, see evaluateWithholding). One entry per index, so a
   * long-lived daemon does not collect one per page version ever seen.
   */
  readonly satisfied: Map<number, number>;
}

export interface HeadBookOptions {
  readonly index: Index;
  readonly folderRowId: () => number;
  readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  readonly now?: () => number;
  readonly graceMs?: number;
}

export class HeadBook {
  private readonly index: Index;
  private readonly folder: () => number;
  private readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  private readonly now: () => number;
  private readonly graceMs: number;
  private readonly writers = new Map<string, WriterState>();
  /** Recently used pages (key `writer/index/number`), least recent first. */
  private readonly cache = new Map<string, HeadPageLookup>();
  private cacheBytes = 0;
  private readonly refused = new Map<string, { number: number; count: number; since: number; kind: 'rollback' | 'conflicting-heads' }>();
  private withheld: IntegrityProblem[] = [];
  private checkedAt = -Infinity;
  private loaded = false;

  constructor(opts: HeadBookOptions) {
    this.index = opts.index;
    this.folder = opts.folderRowId;
    this.keys = opts.keys;
    this.now = opts.now ?? Date.now;
    this.graceMs = opts.graceMs ?? WITHHOLD_GRACE_MS;
  }

  /** Reads what is stored (verified when it was stored): numbers and layouts, and each root. Idempotent. */
  load(): void {
    // A replica learns its row only when it starts: nothing to read before.
    if (this.loaded || this.folder() === 0) return;
    this.loaded = true;
    const now = this.now();
    for (const row of this.index.heads.rows(this.folder())) {
      const bytes = row.pageIndex === ROOT_PAGE_INDEX || !this.writers.has(row.writer) ? this.index.heads.bytesOf(this.folder(), row.writer, row.pageIndex) : null;
      const w = this.writerState(row.writer, bytes ? formatDeviceId(decodeHeadPage(bytes).device) : '');
      if (row.pageIndex === ROOT_PAGE_INDEX) this.rememberRoot(w, decodeHeadPage(bytes!), now);
      else w.pages.set(row.pageIndex, { number: row.number, pageBits: row.pageBits });
    }
  }

  /** Every part held (all writers), as (writer, part index): what a peer that joins is sent, read one at a time with partBytes. */
  parts(): Array<{ writer: string; pageIndex: number }> {
    this.load();
    return this.index.heads.rows(this.folder()).map((r) => ({ writer: r.writer, pageIndex: r.pageIndex }));
  }

  /** The stored bytes of one part, or null (gone since). */
  partBytes(writer: string, pageIndex: number): Uint8Array | null {
    return this.index.heads.bytesOf(this.folder(), writer, pageIndex);
  }

  /** How many parts are held (all writers). */
  partCount(): number {
    this.load();
    let n = 0;
    for (const w of this.writers.values()) n += w.pages.size + (w.root ? 1 : 0);
    return n;
  }

  /** A part from a peer: verified, kept when newer. Never throws for a bad part ('invalid'). */
  receive(bytes: Uint8Array): HeadReceipt {
    this.load();
    let part: SignedHeadPart;
    try {
      part = checkHeadPage(this.keys, bytes);
    } catch (err) {
      return { outcome: 'invalid', code: isSealsyncError(err) ? err.code : 'invalid' };
    }
    if (!this.writers.has(part.writer) && this.writers.size >= MAX_HEAD_WRITERS) return { outcome: 'stale', part };
    const outcome = this.index.heads.store(this.folder(), part);
    if (outcome === 'stored') {
      this.remember(part, this.now());
      this.checkedAt = -Infinity;
    } else if (outcome === 'conflict') {
      this.noteRefusal('conflicting-heads', part.writer, part.number);
    }
    return { outcome, part };
  }

  /** A head that lists a version strictly newer than `version` for this locator, or null. */
  newerThan(locator: Uint8Array, version: VersionVector): HeadRef | null {
    this.load();
    for (const [writer, w] of this.writers) {
      const bits = this.layoutOf(w);
      if (bits === null) continue;
      const pageIndex = headPageOf(locator, bits);
      const page = w.pages.get(pageIndex);
      if (!page || page.pageBits !== bits) continue;
      const lookup = this.lookup(writer, pageIndex, page.number);
      if (lookup?.versionsOf(locator).some((v) => compareVectors(version, v) === 'lesser')) return { writer, device: w.device, number: page.number };
    }
    return null;
  }

  /** A record refused by newerThan: counted for the status until the head's versions are all held. */
  noteRollback(ref: HeadRef): void {
    this.noteRefusal('rollback', ref.writer, ref.number);
  }

  /**
   * Makes, stores and returns this device's next head, or null when its view
   * is what its newest head already says. Only the pages whose range holds a
   * record stored since the last head are re-read, and only those whose
   * entries changed are re-signed; every page when there is no head yet or
   * the folder's size calls for another layout.
   */
  makeOwn(keys: FolderKeys, device: Uint8Array, writer: string): OwnHead | null {
    this.load();
    const store = this.index.heads;
    const folder = this.folder();
    const seq = store.recordSeq(folder);
    const own = this.writers.get(writer);
    const madeAt = own?.root ? store.madeAtSeq(folder, writer) : null;
    if (own?.root && madeAt === seq) return null;
    const count = store.recordCount(folder);
    let bits = headPageBits(count * headEntryBytes(1), own?.root?.pageBits);
    for (;;) {
      const sameLayout = own?.root?.pageBits === bits && madeAt !== null;
      const dirty = sameLayout ? new Set(store.locatorsSince(folder, madeAt).map((l) => headPageOf(l, bits))) : null;
      try {
        return this.signOwn(keys, device, writer, bits, dirty, seq);
      } catch (err) {
        // One page over the size bound (a very unlucky range): a finer layout, every page again.
        if (!isSealsyncError(err, 'ERR_FORMAT_TRUNCATED') || bits >= MAX_HEAD_PAGE_BITS) throw err;
        bits++;
      }
    }
  }

  /** Integrity problems for the status, evaluated at most every WITHHOLD_CHECK_INTERVAL_MS. */
  problems(ownWriter?: string): IntegrityProblem[] {
    this.load();
    const now = this.now();
    if (now - this.checkedAt >= WITHHOLD_CHECK_INTERVAL_MS) {
      this.checkedAt = now;
      this.withheld = this.evaluateWithholding(now, ownWriter);
    }
    const refused = [...this.refused.entries()].map(([writer, r]): IntegrityProblem => {
      const device = this.writers.get(writer)?.device || writer;
      return {
        kind: r.kind,
        device,
        head: r.number,
        since: r.since,
        count: r.count,
        message: r.kind === 'rollback'
          ? `refused ${r.count} record(s) older than head #${r.number} of ${device}: a peer replayed an old state`
          : `two different heads #${r.number} from ${device}: refused the second`,
      };
    });
    return [...this.withheld, ...refused];
  }

  /** Signs the pages of `dirty` (null: every page) whose entries differ from the held ones, and a root; stores them with `seq`. */
  private signOwn(keys: FolderKeys, device: Uint8Array, writer: string, bits: number, dirty: Set<number> | null, seq: number): OwnHead | null {
    const store = this.index.heads;
    const folder = this.folder();
    const own = this.writers.get(writer);
    let last = own?.root?.number ?? 0;
    for (const p of own?.pages.values() ?? []) last = Math.max(last, p.number);
    const number = last + 1;
    const timeMs = this.now();
    const pageCount = 2 ** bits;
    const indexes = dirty ?? new Set(Array.from({ length: pageCount }, (_, i) => i));
    // Every page of the layout must be held to be named by the root: one that is not is made now.
    for (let i = 0; dirty && i < pageCount; i++) if (own?.pages.get(i)?.pageBits !== bits) indexes.add(i);
    const changed = new Set<number>();
    let root: SignedHeadPart | null = null;
    this.index.transaction(() => {
      // Each page is stored as soon as it is signed (nothing is published before the commit):
      // a first head of a million paths never holds its pages' entries all at once.
      for (const pageIndex of [...indexes].sort((a, b) => a - b)) {
        const { lo, hi } = headPageRange(pageIndex, bits);
        const entries = sortHeadEntries(store.versionsInRange(folder, lo, hi));
        if (own?.pages.get(pageIndex)?.pageBits === bits && sameEntries(this.heldEntries(writer, pageIndex), entries)) continue;
        store.store(folder, signHeadPage(keys, { device, writer, number, timeMs, pageBits: bits, pageIndex, entries }));
        changed.add(pageIndex);
      }
      if (changed.size === 0) {
        // Records were stored but the map is the same (a record completed with its ids): nothing to say.
        store.setMadeAtSeq(folder, writer, seq);
        return;
      }
      const pageNumbers = Array.from({ length: pageCount }, (_, i) => (changed.has(i) ? number : own!.pages.get(i)!.number));
      root = signHeadRoot(keys, { device, writer, number, timeMs, pageBits: bits, pageNumbers });
      store.store(folder, root, seq);
    });
    if (!root) return null;
    const w = this.writerState(writer, formatDeviceId(device));
    for (const pageIndex of changed) w.pages.set(pageIndex, { number, pageBits: bits });
    this.remember(root, timeMs);
    return { writer, number, parts: [...changed, ROOT_PAGE_INDEX] };
  }

  /** The entries of a held page (decoded from the store), or null. */
  private heldEntries(writer: string, pageIndex: number): readonly HeadEntry[] | null {
    const bytes = this.index.heads.bytesOf(this.folder(), writer, pageIndex);
    if (!bytes) return null;
    const part = decodeHeadPage(bytes);
    return part.kind === 'page' ? part.entries : null;
  }

  /** The layout a writer's pages are read in: its root's, else that of its newest page. */
  private layoutOf(w: WriterState): number | null {
    if (w.root) return w.root.pageBits;
    let best: PageState | null = null;
    for (const p of w.pages.values()) if (!best || p.number > best.number) best = p;
    return best?.pageBits ?? null;
  }

  /** A held page ready to search, from the cache or the store. */
  private lookup(writer: string, pageIndex: number, number: number): HeadPageLookup | null {
    const key = `${writer}/${pageIndex}/${number}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const bytes = this.index.heads.bytesOf(this.folder(), writer, pageIndex);
    if (!bytes) return null;
    const lookup = new HeadPageLookup(bytes);
    this.cache.set(key, lookup);
    this.cacheBytes += bytes.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= PAGE_CACHE_BYTES || k === key) break;
      this.cache.delete(k);
      this.cacheBytes -= v.bytes.byteLength;
    }
    return lookup;
  }

  /**
   * Per writer other than this device, once its root is past the grace
   * period: the pages its root names that are not held at that number, plus
   * the versions listed by held pages that this device does not hold. A page
   * found complete is not looked at again (a held version only ever gives way
   * to a newer one), so a check costs the pages still incomplete.
   */
  private evaluateWithholding(now: number, ownWriter: string | undefined): IntegrityProblem[] {
    const out: IntegrityProblem[] = [];
    for (const [writer, w] of this.writers) {
      const root = w.root;
      if (writer === ownWriter || !root) continue;
      // Within its grace period a head is not judged, unless a refusal against it waits to be cleared.
      if (now - root.knownAt < this.graceMs && !this.refused.has(writer)) continue;
      let missing = 0;
      root.pageNumbers.forEach((number, pageIndex) => {
        const held = w.pages.get(pageIndex);
        if (!held || held.pageBits !== root.pageBits || held.number < number) {
          missing++;
          return;
        }
        if (w.satisfied.get(pageIndex) === held.number) return;
        const lacking = this.versionsNotHeld(writer, pageIndex);
        if (lacking === 0) w.satisfied.set(pageIndex, held.number);
        missing += lacking;
      });
      if (missing === 0) {
        // Everything the head lists is here: refusals against it are moot now.
        if (this.refused.get(writer)?.kind === 'rollback') this.refused.delete(writer);
        continue;
      }
      if (now - root.knownAt < this.graceMs) continue;
      out.push({
        kind: 'withholding',
        device: w.device,
        head: root.number,
        since: root.timeMs,
        count: missing,
        message: `the server may be withholding updates from ${w.device} since ${new Date(root.timeMs).toISOString()} (${missing} version(s) of head #${root.number} not received)`,
      });
    }
    return out;
  }

  /** How many versions a held page lists that this device holds neither at nor above. */
  private versionsNotHeld(writer: string, pageIndex: number): number {
    const entries = this.heldEntries(writer, pageIndex) ?? [];
    if (entries.length === 0) return 0;
    const held = this.index.currentRecordsOf(this.folder(), entries.map((e) => e.locator));
    let missing = 0;
    for (const e of entries) {
      const have = held.get(Buffer.from(e.locator).toString('hex')) ?? [];
      if (!have.some((r) => { const o = compareVectors(r.version, e.version); return o === 'greater' || o === 'equal'; })) missing++;
    }
    return missing;
  }

  private noteRefusal(kind: 'rollback' | 'conflicting-heads', writer: string, number: number): void {
    const held = this.refused.get(writer);
    if (held && held.kind === kind && held.number === number) held.count++;
    else this.refused.set(writer, { kind, number, count: 1, since: this.now() });
  }

  private writerState(writer: string, device: string): WriterState {
    let w = this.writers.get(writer);
    if (!w) {
      w = { device, root: null, pages: new Map(), satisfied: new Map() };
      this.writers.set(writer, w);
    } else if (!w.device) {
      w.device = device;
    }
    return w;
  }

  /** Mirrors what the store kept (HeadStore.store's rules) for a part it just stored. */
  private remember(part: SignedHeadPart, knownAt: number): void {
    const w = this.writerState(part.writer, formatDeviceId(part.device));
    if (part.kind === 'root') {
      this.rememberRoot(w, part, knownAt);
      for (const [i, p] of w.pages) if (p.pageBits !== part.pageBits && p.number <= part.number) w.pages.delete(i);
    } else {
      w.pages.set(part.pageIndex, { number: part.number, pageBits: part.pageBits });
    }
  }

  private rememberRoot(w: WriterState, part: SignedHeadPart, knownAt: number): void {
    if (part.kind !== 'root') throw new SealsyncError('ERR_INTERNAL', 'a stored root is not a root');
    w.device = formatDeviceId(part.device);
    w.root = { number: part.number, timeMs: part.timeMs, pageBits: part.pageBits, pageNumbers: part.pageNumbers, knownAt };
  }
}

/** True when a held page lists exactly these entries (both in page order). */
function sameEntries(held: readonly HeadEntry[] | null, entries: readonly HeadEntry[]): boolean {
  if (!held || held.length !== entries.length) return false;
  return held.every((h, i) => Buffer.compare(h.locator, entries[i]!.locator) === 0 && vectorKey(h.version) === vectorKey(entries[i]!.version));
}

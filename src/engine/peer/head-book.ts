/**
 * HeadBook: one folder's signed heads (docs/crypto.md 5, src/crypto/signed-head.ts),
 * shared by the full peer's SyncFolder and the encrypted peer's ReplicaFolder.
 *
 * - Keeps, per writer, the pages of the newest head seen (in the index, so a
 *   restart forgets nothing), and hands them out to forward to every peer.
 * - Answers "is this record older than what a head I have seen commits to?"
 *   (newerThan): a record whose version is strictly dominated by a version a
 *   head lists for its locator is a replay, a resurrection or a piece of a
 *   mixed state, and is refused. A concurrent version is not older: it is a
 *   conflict the puller resolves as usual.
 * - Makes this device's own head (rw only): its whole view of the folder,
 *   stored (number included) before it is published, so a crash can never
 *   yield two heads with one number: after a restart the next head takes the
 *   next number.
 * - Reports integrity problems for the status: records refused as older than
 *   a head, two different heads with one number, and "the server may be
 *   withholding updates from DEVICE since TIME" when a head known for longer
 *   than the grace period lists versions this device still does not hold.
 *
 * What it cannot do (docs/crypto.md): a device that has only ever seen heads
 * through one relay cannot tell whether that relay withholds newer heads.
 */
import { formatDeviceId } from '../../crypto/device-id.js';
import type { FolderKeys } from '../../crypto/keys.js';
import { checkHeadPage, decodeHeadPage, signHead, type SignedHeadPage } from '../../crypto/signed-head.js';
import { toHex } from '../../crypto/bytes.js';
import { isSealsyncError } from '../../errors.js';
import type { Index } from '../../index/index.js';
import type { VersionVector } from '../../model/types.js';
import { compareVectors, vectorKey } from '../../model/version-vector.js';
import type { IntegrityProblem } from './status-schema.js';

/** A known head's versions may still be on their way this long before their absence is reported. */
export const WITHHOLD_GRACE_MS = 60_000;
/** The withholding check looks every entry of a head up in the index: at most this often. */
export const WITHHOLD_CHECK_INTERVAL_MS = 5_000;
/** Writers whose heads are kept (one per writing device database; more is hostile or absurd). */
export const MAX_HEAD_WRITERS = 1024;

/** This device's own head is made this long after its view last changed (a burst of edits makes one head). */
export const HEAD_DELAY_MS = 1_000;

export type HeadReceipt =
  | { readonly outcome: 'stored' | 'same' | 'stale' | 'conflict'; readonly page: SignedHeadPage }
  | { readonly outcome: 'invalid'; readonly code: string };

/** The head a record was checked against. */
export interface HeadRef {
  readonly writer: string;
  readonly device: string;
  readonly number: number;
}

interface WriterHead {
  readonly number: number;
  readonly device: string;
  readonly timeMs: number;
  readonly pageBits: number;
  readonly pages: Map<number, SignedHeadPage>;
  /** locator hex → versions listed. */
  readonly entries: Map<string, VersionVector[]>;
  /** When this device first held a page of this head (its own clock). */
  readonly knownAt: number;
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
  private readonly heads = new Map<string, WriterHead>();
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

  /** Reads the stored heads (verified when they were stored). Idempotent. */
  load(): void {
    // A replica learns its row only when it starts: nothing to read before.
    if (this.loaded || this.folder() === 0) return;
    this.loaded = true;
    for (const row of this.index.headPages(this.folder())) this.remember(decodeHeadPage(row.bytes), this.now());
  }

  /** Every page held (all writers): what a peer that joins is sent. */
  pages(): Uint8Array[] {
    this.load();
    return [...this.heads.values()].flatMap((h) => [...h.pages.values()].map((p) => p.bytes));
  }

  /** A page from a peer: verified, kept when newer. Never throws for a bad page ('invalid'). */
  receive(bytes: Uint8Array): HeadReceipt {
    this.load();
    let page: SignedHeadPage;
    try {
      page = checkHeadPage(this.keys, bytes);
    } catch (err) {
      return { outcome: 'invalid', code: isSealsyncError(err) ? err.code : 'invalid' };
    }
    if (!this.heads.has(page.writer) && this.heads.size >= MAX_HEAD_WRITERS) return { outcome: 'stale', page };
    const outcome = this.index.storeHeadPage(this.folder(), page);
    if (outcome === 'stored') {
      this.remember(page, this.now());
      this.checkedAt = -Infinity;
    } else if (outcome === 'conflict') {
      this.noteRefusal('conflicting-heads', page.writer, page.number);
    }
    return { outcome, page };
  }

  /** The newest head that lists a version strictly newer than `version` for this locator, or null. */
  newerThan(locator: Uint8Array, version: VersionVector): HeadRef | null {
    this.load();
    if (this.heads.size === 0) return null;
    const key = toHex(locator);
    for (const [writer, head] of this.heads) {
      const listed = head.entries.get(key);
      if (listed?.some((v) => compareVectors(version, v) === 'lesser')) return { writer, device: head.device, number: head.number };
    }
    return null;
  }

  /** A record refused by newerThan: counted for the status until the head's versions are all held. */
  noteRollback(ref: HeadRef): void {
    this.noteRefusal('rollback', ref.writer, ref.number);
  }

  /**
   * Makes, stores and returns this device's next head over everything it holds,
   * or null when its view is what its newest head already says.
   */
  makeOwn(keys: FolderKeys, device: Uint8Array, writer: string): SignedHeadPage[] | null {
    this.load();
    const entries = this.index.recordVersions(this.folder());
    const mine = this.heads.get(writer);
    if (mine && sameMap(mine.entries, entries)) return null;
    const number = (mine?.number ?? 0) + 1;
    const pages = signHead(keys, { device, writer, number, timeMs: this.now() }, entries);
    // Stored, number and all, before anyone sees it: the number is never handed out twice.
    this.index.transaction(() => {
      for (const p of pages) this.index.storeHeadPage(this.folder(), p);
    });
    for (const p of pages) this.remember(p, this.now());
    return pages;
  }

  /** Integrity problems for the status, newest knowledge first evaluated at most every WITHHOLD_CHECK_INTERVAL_MS. */
  problems(ownWriter?: string): IntegrityProblem[] {
    this.load();
    const now = this.now();
    if (now - this.checkedAt >= WITHHOLD_CHECK_INTERVAL_MS) {
      this.checkedAt = now;
      this.withheld = this.evaluateWithholding(now, ownWriter);
    }
    const refused = [...this.refused.entries()].map(([writer, r]): IntegrityProblem => {
      const device = this.heads.get(writer)?.device ?? writer;
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

  private evaluateWithholding(now: number, ownWriter: string | undefined): IntegrityProblem[] {
    const out: IntegrityProblem[] = [];
    for (const [writer, head] of this.heads) {
      if (writer === ownWriter) continue;
      // Within its grace period a head is not judged, unless a refusal against it waits to be cleared.
      if (now - head.knownAt < this.graceMs && !this.refused.has(writer)) continue;
      const missingPages = 2 ** head.pageBits - head.pages.size;
      const held = this.index.currentRecordsOf(this.folder(), [...head.entries.keys()].map((k) => Buffer.from(k, 'hex')));
      let missing = missingPages;
      for (const [key, versions] of head.entries) {
        const have = held.get(key) ?? [];
        for (const v of versions) if (!have.some((r) => { const o = compareVectors(r.version, v); return o === 'greater' || o === 'equal'; })) missing++;
      }
      if (missing === 0) {
        // Everything the head lists is here: refusals against it are moot now.
        if (this.refused.get(writer)?.kind === 'rollback') this.refused.delete(writer);
        continue;
      }
      if (now - head.knownAt < this.graceMs) continue;
      out.push({
        kind: 'withholding',
        device: head.device,
        head: head.number,
        since: head.timeMs,
        count: missing,
        message: `the server may be withholding updates from ${head.device} since ${new Date(head.timeMs).toISOString()} (${missing} version(s) of head #${head.number} not received)`,
      });
    }
    return out;
  }

  private noteRefusal(kind: 'rollback' | 'conflicting-heads', writer: string, number: number): void {
    const held = this.refused.get(writer);
    if (held && held.kind === kind && held.number === number) held.count++;
    else this.refused.set(writer, { kind, number, count: 1, since: this.now() });
  }

  private remember(page: SignedHeadPage, knownAt: number): void {
    const held = this.heads.get(page.writer);
    if (held && held.number > page.number) return;
    let head = held;
    if (!head || head.number < page.number) {
      head = {
        number: page.number,
        device: formatDeviceId(page.device),
        timeMs: page.timeMs,
        pageBits: page.pageBits,
        pages: new Map(),
        entries: new Map(),
        knownAt,
      };
      this.heads.set(page.writer, head);
    }
    if (head.pages.has(page.pageIndex)) return;
    head.pages.set(page.pageIndex, page);
    for (const e of page.entries) {
      const key = toHex(e.locator);
      const list = head.entries.get(key);
      if (list) list.push(e.version);
      else head.entries.set(key, [e.version]);
    }
  }
}

/** True when a head's map lists exactly these (locator, version) pairs. */
function sameMap(listed: ReadonlyMap<string, VersionVector[]>, entries: readonly { locator: Uint8Array; version: VersionVector }[]): boolean {
  let count = 0;
  for (const v of listed.values()) count += v.length;
  if (count !== entries.length) return false;
  return entries.every((e) => listed.get(toHex(e.locator))?.some((v) => vectorKey(v) === vectorKey(e.version)) ?? false);
}

/**
 * Moving signed heads between the joined peers of one folder (both kinds of
 * folder): every part held (pages and roots) goes to a peer when it joins, a
 * part newly kept (from a peer, or this device's own) goes to every other
 * joined peer, and a part that fails its checks is charged to its sender.
 * The HeadBook decides what is kept; this only sends and charges.
 *
 * Parts are read from the index one at a time as they are sent (a joining
 * peer of a million-path folder is sent ~50 MiB of pages per writer), each
 * send awaited, so memory holds one part per peer, not the whole head.
 */
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { FolderLink } from './folder-link.js';
import { HEAD_DELAY_MS, type HeadBook, type OwnHead } from './head-book.js';

/**
 * Parts a peer may send that we held already or that are older, per join, on
 * top of twice the number we hold (a peer that joins sends what it holds,
 * mostly the same parts), before each costs a point.
 */
export const FREE_REPEATED_HEAD_PAGES = 256;

export interface HeadExchangeOptions {
  readonly book: HeadBook;
  readonly links: () => Iterable<FolderLink>;
  readonly log: Logger;
  /** Makes and stores this device's next head (HeadBook.makeOwn with its keys); absent when it cannot sign (ro, encrypted). */
  readonly makeOwn?: () => OwnHead | null;
  readonly headDelayMs?: number;
}

export class HeadExchange {
  /** Parts from each peer that changed nothing, since it joined. */
  private readonly repeats = new Map<string, number>();
  /** Repeats each peer may send for free since it joined. */
  private readonly allowed = new Map<string, number>();
  private readonly book: HeadBook;
  private readonly links: () => Iterable<FolderLink>;
  private readonly log: Logger;
  private readonly makeOwn: (() => OwnHead | null) | undefined;
  private readonly headDelayMs: number;
  private ownTimer: NodeJS.Timeout | null = null;

  constructor(opts: HeadExchangeOptions) {
    this.book = opts.book;
    this.links = opts.links;
    this.log = opts.log;
    this.makeOwn = opts.makeOwn;
    this.headDelayMs = opts.headDelayMs ?? HEAD_DELAY_MS;
  }

  /** This device's view changed: its next head goes out HEAD_DELAY_MS after the last such call. */
  viewChanged(): void {
    if (!this.makeOwn) return;
    if (this.ownTimer) clearTimeout(this.ownTimer);
    this.ownTimer = setTimeout(() => {
      this.ownTimer = null;
      this.publishOwn();
    }, this.headDelayMs);
    this.ownTimer.unref?.();
  }

  /** Makes (and stores) this device's head now when its view changed, and sends it. */
  publishOwn(): void {
    if (!this.makeOwn) return;
    try {
      const head = this.makeOwn();
      if (head) for (const link of this.links()) void this.sendParts(link, head.parts.map((pageIndex) => ({ writer: head.writer, pageIndex })));
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not make this device\'s head');
    }
  }

  stop(): void {
    if (this.ownTimer) clearTimeout(this.ownTimer);
    this.ownTimer = null;
    this.repeats.clear();
    this.allowed.clear();
  }

  /** A peer joined: it gets every part held. */
  attached(link: FolderLink): void {
    this.repeats.set(link.peerId, 0);
    this.allowed.set(link.peerId, FREE_REPEATED_HEAD_PAGES + 2 * this.book.partCount());
    void this.sendParts(link, this.book.parts());
  }

  detached(peerId: string): void {
    this.repeats.delete(peerId);
    this.allowed.delete(peerId);
  }

  /** A page from a peer. Returns true when it was kept (the folder's status may change). */
  receive(peerId: string, bytes: Uint8Array, penalize: (reason: string, cost?: number) => void): boolean {
    const r = this.book.receive(bytes);
    if (r.outcome === 'invalid') {
      this.log.warn({ peer: peerId, code: r.code }, 'dropped a head page that failed verification');
      penalize(`bad head: ${r.code}`);
      return false;
    }
    if (r.outcome === 'conflict') {
      this.log.warn({ peer: peerId, writer: r.part.writer, number: r.part.number }, 'refused a second, different head with a number already used');
      return true;
    }
    if (r.outcome !== 'stored') {
      const n = (this.repeats.get(peerId) ?? 0) + 1;
      this.repeats.set(peerId, n);
      if (n > (this.allowed.get(peerId) ?? FREE_REPEATED_HEAD_PAGES)) penalize('repeated head pages');
      return false;
    }
    this.log.debug({ peer: peerId, writer: r.part.writer, number: r.part.number, part: r.part.kind === 'root' ? 'root' : r.part.pageIndex }, 'head part kept');
    for (const link of this.links()) if (link.peerId !== peerId) this.send(link, r.part.bytes);
    return true;
  }

  /** Sends stored parts to one peer, reading each just before it goes; stops at the first failed send (the link is gone). */
  private async sendParts(link: FolderLink, parts: ReadonlyArray<{ writer: string; pageIndex: number }>): Promise<void> {
    if (!link.sendHead) return;
    try {
      for (const { writer, pageIndex } of parts) {
        const bytes = this.book.partBytes(writer, pageIndex);
        if (bytes) await link.sendHead(bytes);
      }
    } catch (err) {
      this.log.debug({ peer: link.peerId, err: describeError(err) }, 'could not send a head part');
    }
  }

  private send(link: FolderLink, part: Uint8Array): void {
    link.sendHead?.(part).catch((err: unknown) => this.log.debug({ peer: link.peerId, err: describeError(err) }, 'could not send a head part'));
  }
}

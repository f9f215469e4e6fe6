/**
 * Moving signed heads between the joined peers of one folder (both kinds of
 * folder): every page held goes to a peer when it joins, a page newly kept
 * (from a peer, or this device's own) goes to every other joined peer, and a
 * page that fails its checks is charged to its sender. The HeadBook decides
 * what is kept; this only sends and charges.
 */
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { FolderLink } from './folder-link.js';
import { HEAD_DELAY_MS, type HeadBook } from './head-book.js';
import type { SignedHeadPage } from '../../crypto/signed-head.js';

/** Pages a peer may send that we held already or that are older, per join, before each costs a point. */
export const FREE_REPEATED_HEAD_PAGES = 256;

export interface HeadExchangeOptions {
  readonly book: HeadBook;
  readonly links: () => Iterable<FolderLink>;
  readonly log: Logger;
  /** Makes and stores this device's next head (HeadBook.makeOwn with its keys); absent when it cannot sign (ro, encrypted). */
  readonly makeOwn?: () => SignedHeadPage[] | null;
  readonly headDelayMs?: number;
}

export class HeadExchange {
  /** Pages from each peer that changed nothing, since it joined. */
  private readonly repeats = new Map<string, number>();
  private readonly book: HeadBook;
  private readonly links: () => Iterable<FolderLink>;
  private readonly log: Logger;
  private readonly makeOwn: (() => SignedHeadPage[] | null) | undefined;
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
      const pages = this.makeOwn();
      if (pages) this.publish(pages.map((p) => p.bytes));
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not make this device\'s head');
    }
  }

  stop(): void {
    if (this.ownTimer) clearTimeout(this.ownTimer);
    this.ownTimer = null;
    this.repeats.clear();
  }

  /** A peer joined: it gets every page held. */
  attached(link: FolderLink): void {
    this.repeats.set(link.peerId, 0);
    for (const page of this.book.pages()) this.send(link, page);
  }

  detached(peerId: string): void {
    this.repeats.delete(peerId);
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
      this.log.warn({ peer: peerId, writer: r.page.writer, number: r.page.number }, 'refused a second, different head with a number already used');
      return true;
    }
    if (r.outcome !== 'stored') {
      const n = (this.repeats.get(peerId) ?? 0) + 1;
      this.repeats.set(peerId, n);
      if (n > FREE_REPEATED_HEAD_PAGES) penalize('repeated head pages');
      return false;
    }
    this.log.debug({ peer: peerId, writer: r.page.writer, number: r.page.number, page: r.page.pageIndex }, 'head page kept');
    for (const link of this.links()) if (link.peerId !== peerId) this.send(link, r.page.bytes);
    return true;
  }

  /** This device's own new pages (already stored): to every joined peer. */
  publish(pages: readonly Uint8Array[]): void {
    for (const link of this.links()) for (const page of pages) this.send(link, page);
  }

  private send(link: FolderLink, page: Uint8Array): void {
    link.sendHead?.(page).catch((err: unknown) => this.log.debug({ peer: link.peerId, err: describeError(err) }, 'could not send a head page'));
  }
}

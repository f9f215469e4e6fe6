/**
 * How far each device sharing a folder is with it ("laptop: 97 %, 3 files to
 * go"), as Syncthing shows a remote device's completion. Each device counts
 * its own needs (its puller knows what it still lacks, which our view of its
 * index cannot tell: a peer relays records before it has their blocks) and
 * sends them in a Progress message (net/progress-message.ts) when it joins a
 * folder and whenever they change. The sender's word about itself: shown,
 * never acted on.
 *
 * - ProgressReporter sends our counts over one folder link: at once, then
 *   whenever they differ from what was last sent (looked at every
 *   PROGRESS_INTERVAL_MS; a count is cheap, the engines keep them).
 * - PeerProgressBook keeps the latest report per folder and device, keyed by
 *   the link that brought it, so an older session of a device that ends after
 *   a newer one reported cannot erase the newer report (two connections
 *   deduplicated: folder-session-link.ts).
 */
import type { ProgressCounts } from '../../net/messages.js';

/** How often a link looks whether our counts changed (and sends them if so). */
export const PROGRESS_INTERVAL_MS = 2000;

export interface PeerFolderProgress extends ProgressCounts {
  /** 0..100, whole percent of the bytes it holds; 100 only when it needs nothing. */
  readonly percent: number;
  /** When the report arrived (ms since the epoch, our clock). */
  readonly at: number;
}

/** Completion from counts: bytes held of the global bytes; 100 only when nothing is needed. */
export function completionPercent(c: ProgressCounts): number {
  if (c.needFiles === 0 && c.needBytes === 0) return 100;
  if (c.globalBytes === 0) return 0;
  return Math.min(99, Math.max(0, Math.floor(((c.globalBytes - c.needBytes) * 100) / c.globalBytes)));
}

/** Our counts as a Progress may carry them: needs never above the totals (the decoder refuses that). */
export function progressCounts(s: ProgressCounts): ProgressCounts {
  const whole = (n: number) => (Number.isSafeInteger(n) && n > 0 ? n : 0);
  const globalFiles = Math.max(whole(s.globalFiles), whole(s.needFiles));
  const globalBytes = Math.max(whole(s.globalBytes), whole(s.needBytes));
  return { globalFiles, globalBytes, needFiles: whole(s.needFiles), needBytes: whole(s.needBytes) };
}

export class PeerProgressBook {
  /** folder hex → device id → report and the link (owner) that brought it. */
  private readonly byFolder = new Map<string, Map<string, { progress: PeerFolderProgress; owner: object }>>();

  constructor(private readonly now: () => number = Date.now) {}

  set(folderHex: string, peerId: string, counts: ProgressCounts, owner: object): void {
    let peers = this.byFolder.get(folderHex);
    if (!peers) this.byFolder.set(folderHex, (peers = new Map()));
    peers.set(peerId, { progress: { ...counts, percent: completionPercent(counts), at: this.now() }, owner });
  }

  /** Forgets a device's report, only when `owner` brought it (see the header). */
  delete(folderHex: string, peerId: string, owner: object): void {
    const peers = this.byFolder.get(folderHex);
    if (peers?.get(peerId)?.owner !== owner) return;
    peers.delete(peerId);
    if (peers.size === 0) this.byFolder.delete(folderHex);
  }

  forgetFolder(folderHex: string): void {
    this.byFolder.delete(folderHex);
  }

  /** Reports for one folder, by device id. */
  of(folderHex: string): ReadonlyMap<string, PeerFolderProgress> {
    const out = new Map<string, PeerFolderProgress>();
    for (const [id, e] of this.byFolder.get(folderHex) ?? []) out.set(id, e.progress);
    return out;
  }

  clear(): void {
    this.byFolder.clear();
  }
}

/** Sends our counts for one folder over one link: now, then whenever they change. stop() leaves no timer. */
export class ProgressReporter {
  private timer: NodeJS.Timeout | null = null;
  private last = '';

  constructor(
    private readonly read: () => ProgressCounts | null,
    private readonly send: (counts: ProgressCounts) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const raw = this.read();
    if (raw === null) return;
    const counts = progressCounts(raw);
    const key = `${counts.globalFiles}/${counts.globalBytes}/${counts.needFiles}/${counts.needBytes}`;
    if (key === this.last) return;
    try {
      this.send(counts);
      this.last = key;
    } catch {
      // The session is closing: this link stops with it.
    }
  }
}

/**
 * Logging of refused and failed incoming connections at a bounded rate: an
 * attacker who opens connections as fast as it can must not be able to fill
 * the disk with our log. The first REFUSAL_LOG_LINES_PER_WINDOW refusals of a
 * window are logged one line each; the rest are counted, by reason, and one
 * summary line reports them when the next window starts (or at flush()).
 * No timer: a quiet listener costs nothing.
 */
import type { Logger } from '../logger.js';
import { REFUSAL_LOG_LINES_PER_WINDOW, REFUSAL_LOG_WINDOW_MS } from './limits.js';

/** Reasons kept apart in a summary; more distinct ones are counted as 'other'. */
const MAX_SUMMARY_REASONS = 16;

export class RefusalLog {
  private windowStart: number;
  private logged = 0;
  private suppressed = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly linesPerWindow: number = REFUSAL_LOG_LINES_PER_WINDOW,
    private readonly windowMs: number = REFUSAL_LOG_WINDOW_MS,
  ) {
    this.windowStart = now();
  }

  /** One refused or failed connection. `level` is for the single lines; the summary is a warning. */
  note(reason: string, address: string, level: 'info' | 'debug' = 'info'): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = t;
      this.logged = 0;
    }
    if (this.logged < this.linesPerWindow) {
      this.logged++;
      this.log[level]({ address, reason }, 'incoming connection refused');
      return;
    }
    const key = this.suppressed.has(reason) || this.suppressed.size < MAX_SUMMARY_REASONS ? reason : 'other';
    this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
  }

  /** Logs the summary of what was suppressed, if anything (window end, listener stop). */
  flush(): void {
    if (this.suppressed.size === 0) return;
    let total = 0;
    for (const n of this.suppressed.values()) total += n;
    this.log.warn({ refused: total, reasons: Object.fromEntries(this.suppressed), windowMs: this.windowMs }, 'more incoming connections refused (not logged one by one)');
    this.suppressed = new Map();
  }
}

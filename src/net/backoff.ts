/**
 * Exponential backoff with jitter for redialling: the n-th consecutive failure
 * waits a random time in [d/2, d] with d = min(max, min · 2^n). The random
 * half spreads reconnect storms (every device restarting after a network
 * outage); the cap keeps a long-offline peer retried once a minute.
 */

export const BACKOFF_MIN_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;

export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number = BACKOFF_MIN_MS,
    private readonly maxMs: number = BACKOFF_MAX_MS,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

/**
 * Byte counters with a sliding-window rate: bytes are added to one-second
 * buckets, and the rate is the sum of the buckets inside the window divided by
 * the window. The clock is injected so tests need no sleeping.
 */

export const RATE_WINDOW_MS = 5_000;
const BUCKET_MS = 1_000;

export class RateMeter {
  private total = 0;
  /** [bucketStartMs, bytes], oldest first. */
  private buckets: [number, number][] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly windowMs: number = RATE_WINDOW_MS,
  ) {}

  add(bytes: number): void {
    this.total += bytes;
    const slot = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const last = this.buckets[this.buckets.length - 1];
    if (last && last[0] === slot) last[1] += bytes;
    else this.buckets.push([slot, bytes]);
    this.prune();
  }

  get bytes(): number {
    return this.total;
  }

  /** Bytes per second over the window. */
  rate(): number {
    this.prune();
    const sum = this.buckets.reduce((n, b) => n + b[1], 0);
    return Math.round((sum * 1000) / this.windowMs);
  }

  private prune(): void {
    const oldest = this.now() - this.windowMs;
    while (this.buckets.length > 0 && (this.buckets[0] as [number, number])[0] + BUCKET_MS <= oldest) this.buckets.shift();
  }
}

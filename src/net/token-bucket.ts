/**
 * A token bucket for bandwidth limits. Tokens (bytes) refill at `rate` per
 * second up to `burst`. A take larger than the bucket is allowed to run into
 * debt (a 16 MiB block must pass even with a small burst); the next take waits
 * until the debt is paid. Waiting respects an AbortSignal and `destroy()`, so
 * a closing session never leaves a waiter or a timer behind. setRate()
 * changes the limit of a live bucket (settings applied without a restart):
 * sleeping takes wake up and wait again at the new rate.
 */
import { SealsyncError } from '../errors.js';

export class TokenBucket {
  private tokens: number;
  private last: number;
  private waiters = new Set<{ timer: NodeJS.Timeout; wake: () => void; reject: (e: unknown) => void }>();
  private destroyed = false;
  /** No limit any more (setRate(null)): takes pass at once. */
  private unlimited = false;

  constructor(
    private rate: number,
    private burst: number = rate,
    private readonly now: () => number = Date.now,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'rate' and 'burst' must be positive`);
    this.tokens = burst;
    this.last = now();
  }

  /**
   * A new rate and burst (null: unlimited). Debt already run up is kept but
   * paid at the new rate; sleeping takes re-check at once.
   */
  setRate(rate: number | null, burst: number = rate ?? 0): void {
    if (rate !== null && (!(rate > 0) || !(burst > 0))) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'rate' and 'burst' must be positive`);
    this.refill();
    const wasUnlimited = this.unlimited;
    this.unlimited = rate === null;
    if (rate !== null) {
      this.rate = rate;
      this.burst = burst;
      // Coming back from unlimited: start full (nothing was counted meanwhile).
      this.tokens = wasUnlimited ? burst : Math.min(this.tokens, burst);
    }
    for (const w of [...this.waiters]) w.wake();
  }

  /** Milliseconds until the bucket is out of debt (0 = a take may proceed now). */
  delayMs(): number {
    if (this.unlimited) return 0;
    this.refill();
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Records bytes already used (e.g. received) without waiting. */
  consume(n: number): void {
    if (this.unlimited) return;
    this.refill();
    this.tokens -= n;
  }

  /** Waits until the bucket is out of debt, then takes n bytes. */
  async take(n: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      if (this.destroyed) throw new SealsyncError('ERR_CONNECTION_CLOSED');
      opts.signal?.throwIfAborted();
      const wait = this.delayMs();
      if (wait === 0) {
        if (!this.unlimited) this.tokens -= n;
        return;
      }
      await this.sleep(wait, opts.signal);
    }
  }

  /** Rejects every waiter; later takes fail. */
  destroy(): void {
    this.destroyed = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new SealsyncError('ERR_CONNECTION_CLOSED'));
    }
    this.waiters.clear();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(entry.timer);
        this.waiters.delete(entry);
        reject(new SealsyncError('ERR_ABORTED'));
      };
      const wake = () => {
        clearTimeout(entry.timer);
        this.waiters.delete(entry);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const entry = {
        timer: setTimeout(wake, ms),
        wake,
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.waiters.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Burst of a rate-limited session: a second's worth, at least 64 KiB. */
export const MIN_RATE_BURST_BYTES = 64 * 1024;

/** The bucket for a (new) rate: created, retuned in place (waiters keep their bucket), or unlimited (null). */
export function retuneBucket(bucket: TokenBucket | null, bytesPerSec: number | undefined): TokenBucket | null {
  if (!bytesPerSec || bytesPerSec <= 0) {
    // Anyone sleeping on the old bucket wakes and passes; no new take reaches it.
    bucket?.setRate(null);
    return null;
  }
  const burst = Math.max(bytesPerSec, MIN_RATE_BURST_BYTES);
  if (!bucket) return new TokenBucket(bytesPerSec, burst);
  bucket.setRate(bytesPerSec, burst);
  return bucket;
}

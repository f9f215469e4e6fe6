/**
 * A counting semaphore whose waiters can be aborted and which rejects every
 * waiter on destroy(), so a closing session never leaves a caller hanging.
 */
import { SealsyncError } from '../errors.js';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Semaphore {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  private destroyedWith: unknown = null;

  constructor(private readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.destroyedWith) return Promise.reject(this.destroyedWith);
    if (opts.signal?.aborted) return Promise.reject(new SealsyncError('ERR_ABORTED'));
    if (this.used < this.capacity) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal: opts.signal };
      if (opts.signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new SealsyncError('ERR_ABORTED'));
        };
        opts.signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) {
      // The slot passes straight to the next waiter.
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else if (this.used > 0) {
      this.used--;
    }
  }

  destroy(err: unknown): void {
    this.destroyedWith = err;
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
  }
}

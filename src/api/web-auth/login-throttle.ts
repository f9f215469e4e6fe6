/**
 * Slows down password and token guessing, per source address.
 *
 * How this works: each source has a failure count. After a failed attempt the
 * answer is held back for BASE_DELAY_MS * 2^(failures-1), capped at
 * MAX_DELAY_MS, and while one attempt from a source is being checked or held
 * back, further attempts from it are refused at once ('busy'). So a source
 * gets at most one guess per delay, however many connections it opens. A
 * success clears the count; counts are forgotten FAILURE_MEMORY_MS after the
 * last failure, and at most MAX_TRACKED_SOURCES sources are remembered.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';

export const LOGIN_BASE_DELAY_MS = 250;
export const LOGIN_MAX_DELAY_MS = 10_000;
export const FAILURE_MEMORY_MS = 15 * 60 * 1000;
export const MAX_TRACKED_SOURCES = 1024;

export type AttemptOutcome = 'ok' | 'failed' | 'busy';

interface SourceState {
  failures: number;
  lastFailureAt: number;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const defaultSleep: Sleep = async (ms, signal) => {
  try {
    await sleepTimer(ms, undefined, { signal });
  } catch {
    // aborted on shutdown: answer now rather than hang the close
  }
};

export class LoginThrottle {
  readonly #now: () => number;
  readonly #sleep: Sleep;
  readonly #states = new Map<string, SourceState>();
  readonly #inFlight = new Set<string>();

  constructor(deps: { now?: () => number; sleep?: Sleep } = {}) {
    this.#now = deps.now ?? Date.now;
    this.#sleep = deps.sleep ?? defaultSleep;
  }

  /** The hold-back after the next failure from this source. */
  delayAfterFailure(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(LOGIN_MAX_DELAY_MS, LOGIN_BASE_DELAY_MS * 2 ** Math.min(failures - 1, 30));
  }

  failures(source: string): number {
    const s = this.#states.get(source);
    if (!s) return 0;
    if (this.#now() - s.lastFailureAt >= FAILURE_MEMORY_MS) {
      this.#states.delete(source);
      return 0;
    }
    return s.failures;
  }

  /**
   * Runs one login check for `source` under the throttle. `check` must not
   * throw for a wrong credential (return false); a throw counts as a failure.
   */
  async attempt(source: string, check: () => Promise<boolean>, opts: { signal?: AbortSignal } = {}): Promise<AttemptOutcome> {
    if (this.#inFlight.has(source)) return 'busy';
    this.#inFlight.add(source);
    try {
      let ok = false;
      try {
        ok = await check();
      } catch {
        ok = false;
      }
      if (ok) {
        this.#states.delete(source);
        return 'ok';
      }
      const failures = this.failures(source) + 1;
      this.#remember(source, failures);
      await this.#sleep(this.delayAfterFailure(failures), opts.signal);
      return 'failed';
    } finally {
      this.#inFlight.delete(source);
    }
  }

  #remember(source: string, failures: number): void {
    this.#states.delete(source);
    while (this.#states.size >= MAX_TRACKED_SOURCES) {
      const oldest = this.#states.keys().next();
      if (oldest.done) break;
      this.#states.delete(oldest.value);
    }
    this.#states.set(source, { failures, lastFailureAt: this.#now() });
  }
}

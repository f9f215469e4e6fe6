/** Waiting for a promise that an AbortSignal may stop the caller from waiting for (the daemon's API calls). */
import { SealsyncError } from '../errors.js';

/** Waits for `work` unless `signal` aborts first (the work itself goes on; its failure is still reported to the caller when awaited). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new SealsyncError('ERR_ABORTED', 'stopped waiting'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(new SealsyncError('ERR_ABORTED', 'stopped waiting'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * V8 flags that this process sets on itself at run time (v8.setFlagsFromString),
 * kept so they can be set again after a worker thread starts.
 *
 * Why: V8 flags are process-wide, and creating an isolate (every
 * worker_threads Worker) runs V8's heap configuration, which clamps
 * `--semi-space-growth-factor` back up to 2 for the whole process. The
 * daemon sets it to 1 (src/cli/daemon-heap.ts); after the first hash worker
 * started, the main thread's young generation grew to 16 MiB per semi-space
 * again. Measured in bench (b) at scale 0.5: the receiver's new space went
 * from 3 to 31.5 MiB once its record-check worker was up, peak RSS 159 MiB.
 *
 * The clamp happens on the worker's own thread while its isolate is made, so
 * a pool calls reassertV8Flags() when the worker reports 'online' (it runs
 * JavaScript, its heap exists), not right after `new Worker()`.
 */
import { setFlagsFromString } from 'node:v8';

/** Flags set through setV8Flags, in order; re-applied by reassertV8Flags. */
const applied: string[] = [];

/** Sets V8 flags on this process and remembers them for reassertV8Flags(). */
export function setV8Flags(flags: readonly string[]): void {
  for (const flag of flags) {
    setFlagsFromString(flag);
    if (!applied.includes(flag)) applied.push(flag);
  }
}

/** Sets the remembered flags again (after a new isolate may have reset some); no-op if none were set. */
export function reassertV8Flags(): void {
  for (const flag of applied) setFlagsFromString(flag);
}

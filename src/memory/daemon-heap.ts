/**
 * V8 heap settings for the daemon process (`sealsync start`), applied from
 * inside the process before the daemon's modules load.
 *
 * Why: a daemon's peak RSS is mostly fixed costs (the node binary's pages,
 * the daemon's code) plus the young generation plus block buffers. V8 grows
 * the young generation's semi-spaces from 1 MiB up to 16 MiB each on 64-bit
 * when the program allocates fast, and a syncing daemon does (frame and
 * record objects per block): in the sync benchmark the new space of both
 * daemons sat at 13-16 MiB of resident memory. Objects there die young (a
 * few per block); the survivors are few, so a scavenge of a small space is
 * as cheap per object as one of a large space, it only runs more often.
 *
 * How: `--max-semi-space-size` is read only when the heap is created, so
 * setting it here (v8.setFlagsFromString) has no effect, and the daemon
 * cannot pass it to itself without a second process (a re-exec would add a
 * whole Node process to the daemon's footprint). `--semi-space-growth-factor`
 * however is read each time V8 decides to grow the new space, so setting it
 * to 1 here keeps the semi-spaces near their initial size (the CLI has
 * allocated little at this point). Starting a worker thread resets it to
 * V8's minimum of 2, so the worker pools set it again once a worker is
 * online (src/v8-flags.ts). Verified with
 * v8.getHeapSpaceStatistics(): new_space stays at 4-5.5 MiB resident
 * through a 256 MiB transfer, against 13-16 MiB without it, at the same CPU
 * seconds within noise. The flag is process-wide, so the hash workers'
 * young generations stay small too.
 *
 * The old generation: after each full GC V8 lets the heap grow by a factor
 * it picks from its GC speed (up to 4x for small heaps) before the next
 * full GC. A scan's garbage (records, rows and walk entries of each
 * 500-file batch, promoted because they live until the batch commits) then
 * fills the old space: in bench (f) at scale 0.25 (25,000 files) it reached
 * 59 MiB while ~20-30 MiB was live. `--heap-growing-percent` is read each
 * time V8 computes the next limit, so it works from here too: 50 (a factor
 * of 1.5) cut that peak RSS 157 -> 115 MiB at the same CPU seconds (5.7 vs
 * 5.6); 20 cut it to 111 MiB but cost ~10% more CPU.
 *
 * SEALSYNC_NO_HEAP_FLAGS=1 in the environment keeps V8's defaults (to
 * compare, or if a workload turns out to need a larger young generation).
 */
import { setV8Flags } from './v8-flags.js';

/**
 * New-space growth factor: 1 = never grow past the initial semi-space size.
 * V8's default is 2 (double on each growth, up to --max-semi-space-size).
 */
export const SEMI_SPACE_GROWTH_FACTOR = 1;

/** Old-generation growth per full GC in percent (V8 picks 10-300 by itself); see the header. */
export const HEAP_GROWING_PERCENT = 50;

/** Set to 1 in the environment to run the daemon with V8's default heap sizing. */
export const NO_HEAP_FLAGS_ENV = 'SEALSYNC_NO_HEAP_FLAGS';

/** Applies the daemon's heap flags to this process; call before loading the daemon. */
export function applyDaemonHeapFlags(env: NodeJS.ProcessEnv = process.env): void {
  if (env[NO_HEAP_FLAGS_ENV] === '1') return;
  // Through setV8Flags: a worker thread's start resets the growth factor (src/v8-flags.ts).
  setV8Flags([`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
}

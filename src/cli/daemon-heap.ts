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
 * allocated little at this point). Verified with
 * v8.getHeapSpaceStatistics(): new_space stays at 4-5.5 MiB resident
 * through a 256 MiB transfer, against 13-16 MiB without it, at the same CPU
 * seconds within noise. The flag is process-wide, so the hash workers'
 * young generations stay small too.
 *
 * SEALSYNC_NO_HEAP_FLAGS=1 in the environment keeps V8's defaults (to
 * compare, or if a workload turns out to need a larger young generation).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * New-space growth factor: 1 = never grow past the initial semi-space size.
 * V8's default is 2 (double on each growth, up to --max-semi-space-size).
 */
export const SEMI_SPACE_GROWTH_FACTOR = 1;

/** Set to 1 in the environment to run the daemon with V8's default heap sizing. */
export const NO_HEAP_FLAGS_ENV = 'SEALSYNC_NO_HEAP_FLAGS';

/** Applies the daemon's heap flags to this process; call before loading the daemon. */
export function applyDaemonHeapFlags(env: NodeJS.ProcessEnv = process.env): void {
  if (env[NO_HEAP_FLAGS_ENV] === '1') return;
  setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}

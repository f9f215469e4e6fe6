/**
 * Frees short-lived block buffers early on the main thread.
 *
 * Why: every block that is served or received allocates a few buffers of its
 * size (read, sealed, decrypted) that die right after. They live outside the
 * JS heap, and few JS objects are made per block, so V8's young generation
 * rarely fills and that memory waits for V8's external-memory trigger (tens
 * of MiB). A minor GC (a scavenge of the young generation, well under a
 * millisecond here) after every YOUNG_GC_EVERY_BYTES of block data frees it.
 * The hash workers do the same (see hash-worker.ts); measured in the sync
 * benchmark on the receiver and the sender of a 100 MiB transfer.
 *
 * Node has no --expose-gc per thread, so the flag is set at run time and
 * `gc` taken from a fresh context (the flag only exposes the function to new
 * contexts). If that fails, noteBlockBytes does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Block bytes allocated between two minor GCs: about one block window (32
 * blocks of ~128 KiB), so dead buffers never pile up beyond a few MiB. Was 8
 * MiB; 2 MiB cut the daemons' peak RSS in bench (a)/(c) at scale 0.25 by
 * ~10-40 MiB (a: 146/169 -> 132/128 MiB) at the same CPU seconds (a scavenge
 * of the small young generation, see cli/daemon-heap.ts, costs ~0.1 ms).
 * A full GC every 16 MiB on top was tried: no measurable change.
 */
export const YOUNG_GC_EVERY_BYTES = 2 * 1024 * 1024;

let minorGc: (() => void) | null | undefined;
let sinceGc = 0;

/** A minor-GC function for this thread (main or worker), or null where the runtime refuses. */
export function loadMinorGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    return () => (gc as (opts: { type: 'minor' }) => void)({ type: 'minor' });
  } catch {
    return null;
  }
}

/** Counts block bytes that just became garbage; runs a minor GC every YOUNG_GC_EVERY_BYTES. */
export function noteBlockBytes(bytes: number): void {
  sinceGc += bytes;
  if (sinceGc < YOUNG_GC_EVERY_BYTES) return;
  sinceGc = 0;
  if (minorGc === undefined) minorGc = loadMinorGc();
  minorGc?.();
}

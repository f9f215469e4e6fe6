/**
 * The fuzz loop for one target, in the current process. Input `index` of a
 * run with seed `seed` is fully determined by (seed, index): a structure-aware
 * sample from the target's generators (fast-check, in batches seeded from
 * `seed`): a valid sample as it is (VALID_SHARE of inputs), a hostile one as
 * it is (HOSTILE_SHARE, when the target has them), else stacked byte
 * mutations (mutate.ts) of either, with another sample as splice donor.
 *
 * A crash is:
 *  - throw:   the decoder threw something that is not a SealsyncError;
 *  - oracle:  the target's own check of a decoded value failed;
 *  - time:    one input took more than bounds.msPerInput of CPU time (the
 *             process's, all threads: zlib's thread pool work counts). An
 *             input over the bound is run TIME_RETRIES more times and judged
 *             by its cheapest run: GC and cache misses only ever add time;
 *  - memory:  the process's RSS went over bounds.rssMiB (checked every
 *             RSS_CHECK_EVERY inputs and after every slow one, after a GC).
 * Separately, a valid sample that the decoder refuses is `rejectedValid`: the
 * generator no longer matches the format, and fuzzing would silently degrade.
 */
import fc from 'fast-check';
import { SealsyncError } from '../../src/errors.js';
import { saveCrash } from './corpus.js';
import { Rng, mutate } from './mutate.js';
import { DEFAULT_MAX_INPUT_BYTES, OracleFailure, bytesOf, type FuzzDecoder, type FuzzTarget } from './target.js';

/** Samples drawn from fast-check at once (one seed per batch). */
export const BATCH_SIZE = 256;
/**
 * Inputs made from each batch: every sample is the base of this many inputs
 * on average, since generating one (sealing and signing a record, say) can
 * cost more than decoding several mutations of it.
 */
export const INPUTS_PER_BATCH = 4 * BATCH_SIZE;
/** Share of inputs that are unmutated valid samples. */
export const VALID_SHARE = 0.1;
/** Share of inputs that are unmutated hostile samples, and of mutations that start from one. */
export const HOSTILE_SHARE = 0.1;
/** Hostile samples drawn per batch: they can be megabytes each (a config at its size limit), and a batch is held in memory. */
export const HOSTILE_BATCH_SIZE = 32;
export const TIME_RETRIES = 3;
export const RSS_CHECK_EVERY = 64;
/** Distinct crashes (by kind and first line of the message) saved per target before it stops. */
export const MAX_CRASHES = 20;
const MIB = 1024 * 1024;

export type CrashKind = 'throw' | 'oracle' | 'time' | 'memory';

export interface Crash {
  readonly kind: CrashKind;
  readonly message: string;
  readonly index: number;
  readonly hex: string;
  readonly file?: string;
}

export interface FuzzRunOptions {
  readonly seed: number;
  /** Inputs to run (the run also stops at the deadline). */
  readonly inputs: number;
  /** First input index (to reproduce input I of a seed: start I, inputs 1). */
  readonly start?: number;
  /** Epoch ms at which to stop, whatever the count, once `minInputs` (default 0) have run. */
  readonly deadline?: number;
  readonly minInputs?: number;
  /** Where crashing inputs are saved (none: not saved). */
  readonly corpusDir?: string;
  /** Called with a one-line report for every crash. */
  readonly onCrash?: (crash: Crash) => void;
  /** Called now and then with the inputs done so far. */
  readonly onProgress?: (done: number) => void;
  /**
   * RSS bound in MiB instead of the target's: for runs that share a process
   * with other targets (the CI smoke test), whose memory is already in the RSS.
   */
  readonly rssBoundMiB?: number;
  /** Told when each input starts and ends (hang detection, see watchdog.ts). */
  readonly watchdog?: { started(index: number): void; finished(): void };
}

export interface FuzzRunResult {
  readonly target: string;
  readonly seed: number;
  readonly inputs: number;
  readonly crashes: readonly Crash[];
  readonly rejectedValid: number;
  /** First refusal of a valid sample, to say why. */
  readonly rejectedValidExample?: string;
  readonly slowestMs: number;
  /** Index of the slowest input (reproduce it with --start). */
  readonly slowestIndex: number;
  readonly peakRssMiB: number;
  readonly seconds: number;
}

/** Seed of fast-check batch `batch` of run `seed`. */
function batchSeed(seed: number, batch: number): number {
  return Rng.derive(seed ^ 0x5eed, batch).u32() | 0;
}

type SampleCache = Map<string, Uint8Array[]>;

function batchOf(arb: fc.Arbitrary<Uint8Array>, kind: 'valid' | 'hostile', seed: number, batch: number, cache?: SampleCache): Uint8Array[] {
  const key = `${kind}:${batch}`;
  let samples = cache?.get(key);
  if (!samples) {
    const numRuns = kind === 'hostile' ? HOSTILE_BATCH_SIZE : BATCH_SIZE;
    samples = fc.sample(arb, { seed: batchSeed(seed ^ (kind === 'hostile' ? 0x4057 : 0), batch), numRuns });
    if (cache) {
      for (const k of cache.keys()) if (k.startsWith(`${kind}:`)) cache.delete(k);
      cache.set(key, samples);
    }
  }
  return samples;
}

/** The input at `index` of run `seed`, and whether it is an unmutated valid sample. */
export function inputAt(target: FuzzTarget, seed: number, index: number, cache?: SampleCache): { input: Uint8Array; valid: boolean } {
  const batch = Math.floor(index / INPUTS_PER_BATCH);
  const rng = Rng.derive(seed, index);
  const valid = batchOf(target.valid, 'valid', seed, batch, cache);
  const hostile = target.hostile ? batchOf(target.hostile, 'hostile', seed, batch, cache) : null;
  const pick = (from: Uint8Array[]): Uint8Array => from[rng.below(from.length)] as Uint8Array;
  const roll = rng.u32() / 0x1_0000_0000;
  if (roll < VALID_SHARE) return { input: pick(valid), valid: true };
  if (hostile && roll < VALID_SHARE + HOSTILE_SHARE) return { input: pick(hostile), valid: false };
  const base = hostile && rng.chance(HOSTILE_SHARE) ? pick(hostile) : pick(valid);
  const dictionary = target.dictionary?.map(bytesOf);
  const { bytes } = mutate(base, rng, {
    donor: rng.pick(hostile && rng.chance(HOSTILE_SHARE) ? hostile : valid),
    maxLength: target.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
    ...(dictionary ? { dictionary } : {}),
  });
  return { input: bytes, valid: false };
}

type Outcome = { ok: true; value: unknown } | { ok: false; catalog: boolean; oracle: boolean; message: string };

function failure(err: unknown): Outcome {
  if (err instanceof SealsyncError) return { ok: false, catalog: true, oracle: false, message: `${err.code}: ${err.message}` };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : `non-error thrown: ${String(err)}`;
  return { ok: false, catalog: false, oracle: err instanceof OracleFailure, message };
}

async function runOnce(decoder: FuzzDecoder, input: Uint8Array): Promise<Outcome> {
  try {
    const r = decoder.decode(input);
    return { ok: true, value: r instanceof Promise ? await r : r };
  } catch (err) {
    return failure(err);
  }
}

/** The oracle on a decoded value; any throw of it is a crash (a SealsyncError too: the decoder said yes). */
async function runCheck(decoder: FuzzDecoder, input: Uint8Array, value: unknown): Promise<Outcome> {
  try {
    const r = decoder.check?.(input, value);
    if (r instanceof Promise) await r;
    return { ok: true, value };
  } catch (err) {
    const f = failure(err);
    return f.ok ? f : { ...f, catalog: false, oracle: true };
  }
}

/** CPU time (user + system, every thread of the process) in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Runs `decoder` on `input` and says what it cost: CPU time, not wall time,
 * since on a shared machine wall time mostly measures the neighbours (the same
 * input was seen to take 9 ms and 260 ms of wall time in five runs). Over the
 * bound, the fastest of up to 1 + TIME_RETRIES runs counts.
 *
 * The first run is timed by the wall clock: reading the process's CPU time is
 * a system call that cost ~145 µs here, 10 % of a whole run. An input whose
 * wall time is within the bound is within it; only a slower one is measured
 * again in CPU time. (The decoders run on this one thread, so the CPU time
 * they use cannot exceed the wall time that passed.)
 */
async function timed(decoder: FuzzDecoder, input: Uint8Array, boundMs: number): Promise<{ outcome: Outcome; ms: number }> {
  const w0 = performance.now();
  const outcome = await runOnce(decoder, input);
  let ms = performance.now() - w0;
  if (ms <= boundMs) return { outcome, ms };
  let t0 = cpuMs();
  await runOnce(decoder, input);
  ms = Math.min(ms, cpuMs() - t0);
  for (let i = 1; i < TIME_RETRIES && ms > boundMs; i++) {
    t0 = cpuMs();
    await runOnce(decoder, input);
    ms = Math.min(ms, cpuMs() - t0);
  }
  return { outcome, ms };
}

function rssMiB(): number {
  return process.memoryUsage.rss() / MIB;
}

/** RSS after a full GC when the process runs with --expose-gc (transient garbage is not a leak). */
function settledRssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return rssMiB();
}

export async function fuzzTarget(target: FuzzTarget, opts: FuzzRunOptions): Promise<FuzzRunResult> {
  const started = performance.now();
  const decoder = await target.open();
  const crashes: Crash[] = [];
  const seen = new Set<string>();
  const cache: SampleCache = new Map();
  let rejectedValid = 0;
  let rejectedValidExample: string | undefined;
  let slowestMs = 0;
  let slowestIndex = -1;
  let peakRssMiB = rssMiB();
  let done = 0;
  let lastProgress = Date.now();
  const start = opts.start ?? 0;

  const record = (kind: CrashKind, message: string, index: number, input: Uint8Array): void => {
    // One saved input per kind of failure: numbers (times, sizes, offsets) do not make a new kind.
    const bucket = `${kind}\0${(message.split('\n')[0] ?? '').replace(/\d+(?:\.\d+)?/g, '#')}`;
    if (seen.has(bucket)) return;
    seen.add(bucket);
    const notes = [`kind: ${kind}`, `found: seed ${opts.seed} index ${index}`, `error: ${message.split('\n')[0]}`];
    const file = opts.corpusDir ? saveCrash(opts.corpusDir, target.name, input, notes) : undefined;
    const crash: Crash = { kind, message, index, hex: Buffer.from(input).toString('hex'), ...(file ? { file } : {}) };
    crashes.push(crash);
    opts.onCrash?.(crash);
  };

  try {
    for (let index = start; index < start + opts.inputs; index++) {
      if (opts.deadline !== undefined && done >= (opts.minInputs ?? 0) && Date.now() >= opts.deadline) break;
      if (crashes.length >= MAX_CRASHES) break;
      const { input, valid } = inputAt(target, opts.seed, index, cache);
      opts.watchdog?.started(index);
      const timedRun = await timed(decoder, input, target.bounds.msPerInput);
      opts.watchdog?.finished();
      const { ms } = timedRun;
      const outcome = timedRun.outcome.ok ? await runCheck(decoder, input, timedRun.outcome.value) : timedRun.outcome;
      done++;
      if (ms > slowestMs) {
        slowestMs = ms;
        slowestIndex = index;
      }
      if (!outcome.ok) {
        if (!outcome.catalog) record(outcome.oracle ? 'oracle' : 'throw', outcome.message, index, input);
        else if (valid) {
          rejectedValid++;
          rejectedValidExample ??= `index ${index}: ${outcome.message}`;
        }
      }
      if (ms > target.bounds.msPerInput) {
        record('time', `${ms.toFixed(1)} ms for one input of ${input.length} bytes (bound ${target.bounds.msPerInput} ms)`, index, input);
      }
      if (done % RSS_CHECK_EVERY === 0 || ms > 5) {
        const bound = opts.rssBoundMiB ?? target.bounds.rssMiB;
        let rss = rssMiB();
        if (rss > bound) rss = settledRssMiB();
        if (rss > peakRssMiB) peakRssMiB = rss;
        if (rss > bound) {
          record('memory', `RSS ${rss.toFixed(0)} MiB after this input (bound ${bound} MiB)`, index, input);
          break; // the process is past its bound: nothing after this is measured fairly
        }
      }
      if (opts.onProgress && Date.now() - lastProgress >= 30_000) {
        lastProgress = Date.now();
        opts.onProgress(done);
      }
    }
  } finally {
    await decoder.close?.();
  }
  return {
    target: target.name,
    seed: opts.seed,
    inputs: done,
    crashes,
    rejectedValid,
    ...(rejectedValidExample !== undefined ? { rejectedValidExample } : {}),
    slowestMs,
    slowestIndex,
    peakRssMiB: Math.max(peakRssMiB, rssMiB()),
    seconds: (performance.now() - started) / 1000,
  };
}

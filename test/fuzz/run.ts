/**
 * `npm run fuzz`: runs every registered fuzz target (or those named with
 * --target), each in its own process, one after another, and prints a table.
 *
 *   --target NAME   only this target (repeat, or comma-separate, for several)
 *   --inputs N      inputs per target (default 1,000,000)
 *   --seconds S     time cap for the whole run, shared out between the targets
 *                   (a target that finishes early leaves its time to the rest)
 *   --seed N        run seed (default: random, printed); with --start I and
 *                   --inputs 1 it reproduces one input of an earlier run
 *   --start I       first input index (default 0)
 *   --jobs N        targets run at once, each in its own process (default: the
 *                   number of CPUs; inputs are the same whatever N is)
 *   --corpus DIR    where crashing inputs are saved (default test/fuzz/corpus)
 *   --list          list the targets and exit
 *
 * Exits 1 when any target crashed, died, or refused one of its own valid
 * samples; 2 on a usage error.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CORPUS_DIR } from './corpus.js';
import type { FuzzRunResult } from './harness.js';
import { FUZZ_TARGETS } from './registry.js';
import type { FuzzTarget } from './target.js';
import { RESULT_PREFIX, type WorkerArgs } from './worker-protocol.js';

export const DEFAULT_INPUTS = 1_000_000;
/** Inputs every target runs even when its share of --seconds is gone (slow start on a loaded machine). */
const MIN_INPUTS_PER_TARGET = 50;
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface RunOptions {
  targets: FuzzTarget[];
  inputs: number;
  seconds: number;
  seed: number;
  start: number;
  corpusDir: string;
  jobs: number;
}

class UsageError extends Error {}

function count(text: string, what: string): number {
  const n = Number(text.replace(/[_,]/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number ≥ 0, got '${text}'`);
  return n;
}

function parseOptions(argv: string[]): RunOptions | 'list' {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', multiple: true },
      inputs: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      corpus: { type: 'string' },
      jobs: { type: 'string' },
      list: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.list) return 'list';
  const names = (values.target ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  const targets = names.length === 0 ? [...FUZZ_TARGETS] : names.map((name) => {
    const t = FUZZ_TARGETS.find((x) => x.name === name);
    if (!t) throw new UsageError(`unknown target '${name}' (targets: ${FUZZ_TARGETS.map((x) => x.name).join(', ')})`);
    return t;
  });
  const seconds = values.seconds === undefined ? Infinity : Number(values.seconds);
  if (!(seconds > 0)) throw new UsageError(`--seconds must be a number > 0, got '${values.seconds}'`);
  const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : count(values.seed, '--seed');
  if (seed >= 2 ** 32) throw new UsageError('--seed must be below 2^32');
  return {
    targets,
    inputs: values.inputs === undefined ? DEFAULT_INPUTS : count(values.inputs, '--inputs'),
    seconds,
    seed,
    start: values.start === undefined ? 0 : count(values.start, '--start'),
    corpusDir: values.corpus ?? DEFAULT_CORPUS_DIR,
    jobs: values.jobs === undefined ? availableParallelism() : Math.max(1, count(values.jobs, '--jobs')),
  };
}

interface TargetOutcome {
  readonly result: FuzzRunResult | null;
  /** Why the process ended without a result (killed by its heap limit, a late throw). */
  readonly died: string | null;
}

function runWorker(target: FuzzTarget, args: WorkerArgs): Promise<TargetOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', `--max-old-space-size=${target.bounds.heapMiB}`, '--expose-gc', WORKER, JSON.stringify(args)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let result: FuzzRunResult | null = null;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as FuzzRunResult;
      else console.log(line);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const died = code === 0 && result ? null : `process ended with ${signal ?? `exit code ${code}`}`;
      resolve({ result, died });
    });
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')).join('\n');
}

async function main(argv: string[]): Promise<number> {
  let opts: RunOptions | 'list';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(`fuzz: ${(err as Error).message}`);
    return 2;
  }
  if (opts === 'list') {
    for (const t of FUZZ_TARGETS) console.log(`${t.name.padEnd(16)} ${t.description}`);
    return 0;
  }
  const cap = Number.isFinite(opts.seconds) ? ` within ${opts.seconds} s` : '';
  console.log(`fuzz: seed ${opts.seed}, ${opts.inputs} inputs per target${cap}, ${opts.targets.length} targets, ${opts.jobs} at a time`);
  const end = Date.now() + opts.seconds * 1000;
  const rows = [['target', 'inputs', 'crashes', 'slowest ms', 'peak RSS MiB', 'inputs/s']];
  let failed = false;
  const outcomes: Array<TargetOutcome | undefined> = [];
  let next = 0;
  // Each slot takes the next target when its last one ends; a target's share of
  // --seconds is what is left, spread over the targets not yet started per slot.
  const slot = async (): Promise<void> => {
    while (next < opts.targets.length) {
      const i = next++;
      const target = opts.targets[i] as FuzzTarget;
      const left = opts.targets.length - i;
      const share = Math.min(opts.jobs, left) / left;
      const deadline = Number.isFinite(opts.seconds) ? Date.now() + Math.max(0, end - Date.now()) * share : Number.MAX_SAFE_INTEGER;
      outcomes[i] = await runWorker(target, {
        target: target.name, seed: opts.seed, inputs: opts.inputs, start: opts.start, deadline, corpusDir: opts.corpusDir,
        minInputs: Math.min(opts.inputs, MIN_INPUTS_PER_TARGET),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, opts.targets.length) }, slot));
  for (const [i, target] of opts.targets.entries()) {
    const { result, died } = outcomes[i] ?? { result: null, died: 'not run' };
    if (died) console.log(`CRASH ${target.name} [died] ${died}`);
    if (result && result.rejectedValid > 0) {
      console.log(`FAIL ${target.name}: ${result.rejectedValid} of its own valid samples were refused (${result.rejectedValidExample})`);
    }
    const crashes = (result?.crashes.length ?? 0) + (died ? 1 : 0);
    failed ||= crashes > 0 || (result?.rejectedValid ?? 0) > 0;
    rows.push([
      target.name,
      String(result?.inputs ?? '?'),
      String(crashes),
      result ? result.slowestMs.toFixed(1) : '?',
      result ? result.peakRssMiB.toFixed(0) : '?',
      result && result.seconds > 0 ? Math.round(result.inputs / result.seconds).toString() : '?',
    ]);
  }
  console.log(`\n${table(rows)}`);
  console.log(failed ? '\nfuzz: FAILED (see CRASH / FAIL lines above)' : '\nfuzz: 0 crashes');
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));

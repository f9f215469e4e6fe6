/**
 * Hang detection for a worker process. A decoder stuck in a synchronous loop
 * (a regex backtracking for hours, say) never returns to the harness, so
 * nothing on the main thread can notice. This worker thread can: the main
 * thread publishes the index of the input it is decoding and when it started,
 * and when one input runs past HANG_MS the thread rebuilds that input from
 * (seed, index), saves and prints it like any crash, and kills the process.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { startPoolWorker } from '../../src/fs/pool-worker.js';
import type { FuzzTarget } from './target.js';

/** An input still running after this long is a hang, not a slow input. */
export const HANG_MS = 10_000;
const POLL_MS = 250;
const IDLE = -1;

interface WatchdogData {
  readonly shared: SharedArrayBuffer;
  readonly target: string;
  readonly seed: number;
  readonly corpusDir: string | null;
  readonly module: string | null;
}

/** The main thread's side: mark each input's start and end (two Atomics stores, no message). */
export class Watchdog {
  private readonly slots: Int32Array;
  private readonly thread: Worker;

  constructor(target: string, seed: number, corpusDir: string | null, module: string | null) {
    const shared = new SharedArrayBuffer(8);
    this.slots = new Int32Array(shared);
    this.slots[1] = IDLE;
    const data: WatchdogData = { shared, target, seed, corpusDir, module };
    // The pools' starter: it loads this .ts file through tsx inside the thread.
    this.thread = startPoolWorker(import.meta.url, 'watchdog', { workerData: data });
    this.thread.unref();
  }

  started(index: number): void {
    Atomics.store(this.slots, 0, index);
    Atomics.store(this.slots, 1, Math.floor(performance.timeOrigin + performance.now()) % 0x7fff_ffff);
  }

  finished(): void {
    Atomics.store(this.slots, 1, IDLE);
  }

  async stop(): Promise<void> {
    await this.thread.terminate();
  }
}

async function watch(data: WatchdogData): Promise<void> {
  // Loaded only here: the main thread already has them, this thread needs its own copies.
  const { inputAt } = await import('./harness.js');
  const { targetNamed } = await import('./registry.js');
  const { saveCrash } = await import('./corpus.js');
  const targetFromModule = data.module !== null
    ? ((await import(pathToFileURL(data.module).href)) as { fuzzTarget: FuzzTarget }).fuzzTarget
    : undefined;
  const slots = new Int32Array(data.shared);
  const timer = setInterval(() => {
    const since = Atomics.load(slots, 1);
    if (since === IDLE) return;
    const now = Math.floor(performance.timeOrigin + performance.now()) % 0x7fff_ffff;
    if (now - since < HANG_MS) return;
    clearInterval(timer);
    const index = Atomics.load(slots, 0);
    const target = data.module !== null ? targetFromModule : targetNamed(data.target);
    const message = `no answer after ${HANG_MS / 1000} s (hang)`;
    let lines = [`CRASH ${data.target} [hang] ${message}`, `  reproduce: npm run fuzz -- --target ${data.target} --seed ${data.seed} --start ${index} --inputs 1`];
    if (target) {
      const { input } = inputAt(target, data.seed, index);
      if (data.corpusDir !== null) {
        const file = saveCrash(data.corpusDir, data.target, input, ['kind: hang', `found: seed ${data.seed} index ${index}`, `error: ${message}`]);
        lines.push(`  saved: ${file}`);
      }
      const hex = Buffer.from(input).toString('hex');
      lines.push(`  input (hex): ${hex.length > 1024 ? `${hex.slice(0, 1024)}… (${input.length} bytes)` : hex}`);
    }
    writeSync(1, `${lines.join('\n')}\n`);
    lines = [];
    process.kill(process.pid, 'SIGKILL');
  }, POLL_MS);
  parentPort?.on('close', () => clearInterval(timer));
}

if (!isMainThread && (workerData as WatchdogData | undefined)?.shared) await watch(workerData as WatchdogData);

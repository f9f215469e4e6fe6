/**
 * Sealing throughput (the scan hot path): sealBlock on 1 MiB blocks, on one
 * thread, then on a pool of os.availableParallelism() worker threads. Also
 * reports the hash-only rates for comparison. Short: about 2 s in total.
 *
 * This same file is the worker body (it checks workerData).
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { HASH_BLAKE2B_256, HASH_SHA256, digest, keysFromSecret, openBlock, sealBlock } from '../src/crypto/index.js';

const BLOCK_BYTES = 1024 * 1024;
const PHASE_MS = 400;
const MIB = 1024 * 1024;

interface WorkerJob { role: 'sealsync-crypto-bench'; ms: number }

/** Runs `fn` over and over for about `ms`; returns MB/s (10^6 bytes) for `bytesPerCall`. */
function rate(ms: number, bytesPerCall: number, fn: () => void): number {
  fn(); // warm up
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < ms) {
    fn();
    calls++;
  }
  const seconds = (performance.now() - start) / 1000;
  return (calls * bytesPerCall) / seconds / 1e6;
}

function sealLoop(ms: number): number {
  const key = keysFromSecret(new Uint8Array(32).fill(1)).contentKey as Uint8Array;
  const block = new Uint8Array(randomBytes(BLOCK_BYTES));
  return rate(ms, BLOCK_BYTES, () => { sealBlock(key, block); });
}

function runPool(threads: number, ms: number): Promise<number> {
  const jobs: Array<Promise<number>> = [];
  for (let i = 0; i < threads; i++) {
    jobs.push(new Promise<number>((resolve, reject) => {
      // Node 20 will not start a worker from a .ts URL, even with a loader: start
      // from a one-line script that imports this file through tsx's API.
      const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
      const self = JSON.stringify(import.meta.url);
      const worker = new Worker(`import(${api}).then((tsx) => tsx.tsImport(${self}, ${self}))`, {
        eval: true,
        workerData: { role: 'sealsync-crypto-bench', ms } satisfies WorkerJob,
      });
      worker.once('message', (v: number) => { resolve(v); void worker.terminate(); });
      worker.once('error', reject);
    }));
  }
  return Promise.all(jobs).then((rates) => rates.reduce((a, b) => a + b, 0));
}

export async function run(_args: string[]): Promise<void> {
  const key = keysFromSecret(new Uint8Array(32).fill(1)).contentKey as Uint8Array;
  const block = new Uint8Array(randomBytes(BLOCK_BYTES));
  const sealed = sealBlock(key, block);
  const hash = digest(block);
  const results: Record<string, number> = {
    'sha256 1 MiB': rate(PHASE_MS / 2, BLOCK_BYTES, () => { digest(block, HASH_SHA256); }),
    'blake2b 1 MiB': rate(PHASE_MS / 2, BLOCK_BYTES, () => { digest(block, HASH_BLAKE2B_256); }),
    'seal 1 MiB (hashes plaintext)': sealLoop(PHASE_MS),
    'seal 1 MiB (plain hash given)': rate(PHASE_MS, BLOCK_BYTES, () => { sealBlock(key, block, hash); }),
    'open 1 MiB (verify id, decrypt, check hash)': rate(PHASE_MS, BLOCK_BYTES, () => { openBlock(key, sealed.sealed, sealed); }),
  };
  const threads = availableParallelism();
  results[`seal 1 MiB, ${threads} worker threads (total)`] = await runPool(threads, PHASE_MS);
  for (const [name, mbs] of Object.entries(results)) console.log(`${name.padEnd(48)} ${mbs.toFixed(0).padStart(6)} MB/s`);
  console.log(`peak RSS ${(process.memoryUsage().rss / MIB).toFixed(0)} MiB`);
}

if (!isMainThread && (workerData as WorkerJob | undefined)?.role === 'sealsync-crypto-bench') {
  parentPort?.postMessage(sealLoop((workerData as WorkerJob).ms));
}

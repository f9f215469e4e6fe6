/**
 * Starting a worker thread for a pool (hash-pool.ts; the one pool today).
 *
 * Where the worker's code is: from dist/ it is the compiled `<name>.js` next
 * to the pool's module. From source (tsx) Node 20 does not apply `--import`
 * loader hooks to a worker's entry module, so a tiny eval'd bootstrap
 * registers tsx's ESM hooks inside the worker and then imports `<name>.ts`.
 *
 * Every pool worker also gets the daemon's V8 flags set again once it is up:
 * making its isolate resets the young-generation flag for the whole process,
 * and so may isolates it starts while loading (tsx's loader thread in dev);
 * see src/memory/v8-flags.ts.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { reassertV8Flags } from '../memory/v8-flags.js';

function workerEntry(poolModuleUrl: string, name: string): { entry: URL | string; evalCode: boolean } {
  if (!poolModuleUrl.endsWith('.ts')) return { entry: new URL(`./${name}.js`, poolModuleUrl), evalCode: false };
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, poolModuleUrl).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return { entry: code, evalCode: true };
}

/**
 * Starts the worker module `name` that sits next to `poolModuleUrl` (the
 * pool's own import.meta.url). execArgv is empty: the parent's flags
 * (--input-type, --test, tsx's own hooks) can break a worker.
 */
export function startPoolWorker(poolModuleUrl: string, name: string, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  const { entry, evalCode } = workerEntry(poolModuleUrl, name);
  const worker = new Worker(entry, { ...options, eval: evalCode, execArgv: [] });
  worker.once('online', reassertV8Flags);
  worker.once('message', reassertV8Flags);
  return worker;
}

/**
 * One target in its own process (run.ts starts one per target, with the
 * target's heap limit, so a leak or blow-up in one cannot hide in another's
 * figures). Arguments: one JSON object (WorkerArgs). Crashes are printed as
 * they are found; the last stdout line is `RESULT <json>`.
 */
import { pathToFileURL } from 'node:url';
import { fuzzTarget, type Crash } from './harness.js';
import type { FuzzTarget } from './target.js';
import { targetNamed } from './registry.js';
import { Watchdog } from './watchdog.js';
import { RESULT_PREFIX, type WorkerArgs } from './worker-protocol.js';
/** Crash input hex printed in full up to this many characters (the corpus file has all of it). */
const HEX_PRINT_CHARS = 1024;

function printCrash(target: string, seed: number, c: Crash): void {
  const hex = c.hex.length > HEX_PRINT_CHARS ? `${c.hex.slice(0, HEX_PRINT_CHARS)}… (${c.hex.length / 2} bytes)` : c.hex;
  console.log(`CRASH ${target} [${c.kind}] ${c.message.split('\n')[0]}`);
  console.log(`  reproduce: npm run fuzz -- --target ${target} --seed ${seed} --start ${c.index} --inputs 1`);
  if (c.file) console.log(`  saved: ${c.file}`);
  console.log(`  input (hex): ${hex}`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  const target = args.module ? ((await import(pathToFileURL(args.module).href)) as { fuzzTarget: FuzzTarget }).fuzzTarget : targetNamed(args.target);
  if (!target) throw new Error(`unknown fuzz target '${args.target}'`);
  // A decoder that leaves a rejected promise or a throw behind (after it returned) has crashed too.
  const late = (err: unknown): void => {
    console.log(`CRASH ${target.name} [throw] after returning: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    process.exit(2);
  };
  process.on('unhandledRejection', late);
  process.on('uncaughtException', late);
  const watchdog = new Watchdog(target.name, args.seed, args.corpusDir, args.module ?? null);
  const result = await fuzzTarget(target, {
    seed: args.seed,
    inputs: args.inputs,
    start: args.start,
    deadline: args.deadline,
    minInputs: args.minInputs,
    ...(args.corpusDir !== null ? { corpusDir: args.corpusDir } : {}),
    onCrash: (c) => printCrash(target.name, args.seed, c),
    onProgress: (done) => process.stderr.write(`  ${target.name}: ${done} inputs\n`),
    watchdog,
  });
  await watchdog.stop();
  console.log(`${RESULT_PREFIX}${JSON.stringify({ ...result, crashes: result.crashes.map(({ hex: _hex, ...c }) => c) })}`);
}

await main();

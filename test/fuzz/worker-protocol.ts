/** What run.ts tells a worker process (one JSON argument) and how the worker answers (its last stdout line). */
export interface WorkerArgs {
  readonly target: string;
  readonly seed: number;
  readonly inputs: number;
  readonly start: number;
  /** Epoch ms at which the worker stops, whatever the count... */
  readonly deadline: number;
  /** ...once it has run at least this many (so a short share on a slow machine still tests something). */
  readonly minInputs: number;
  readonly corpusDir: string | null;
  /** A module whose `fuzzTarget` export is the target, instead of the registry's (the harness's own tests). */
  readonly module?: string;
}

export const RESULT_PREFIX = 'RESULT ';

/**
 * Every fuzz target, one module each under targets/. A new decoder or a new
 * format version adds its module here; `npm run fuzz`, the CI smoke run and
 * the corpus replay pick it up from this list.
 */
import type { FuzzTarget } from './target.js';
import { framesTarget } from './targets/frames.js';
import { messagesTarget } from './targets/messages.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  framesTarget,
  messagesTarget,
];

export function targetNamed(name: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.find((t) => t.name === name);
}

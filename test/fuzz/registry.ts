/**
 * Every fuzz target, one module each under targets/. A new decoder or a new
 * format version adds its module here; `npm run fuzz`, the CI smoke run and
 * the corpus replay pick it up from this list.
 */
import type { FuzzTarget } from './target.js';
import { configFileTarget } from './targets/config-file.js';
import { framesTarget } from './targets/frames.js';
import { ignoreFilesTarget } from './targets/ignore-files.js';
import { inviteCodesTarget } from './targets/invite-codes.js';
import { keyTextTarget } from './targets/key-text.js';
import { messagesTarget } from './targets/messages.js';
import { plainBlocksTarget } from './targets/plain-blocks.js';
import { peerAddressesTarget } from './targets/peer-addresses.js';
import { recordBodiesTarget } from './targets/record-bodies.js';
import { restBodiesTarget } from './targets/rest-bodies.js';
import { sealedBlocksTarget } from './targets/sealed-blocks.js';
import { sealedRecordsTarget } from './targets/sealed-records.js';
import { headPagesTarget } from './targets/head-pages.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  framesTarget,
  messagesTarget,
  sealedRecordsTarget,
  headPagesTarget,
  recordBodiesTarget,
  sealedBlocksTarget,
  plainBlocksTarget,
  keyTextTarget,
  inviteCodesTarget,
  peerAddressesTarget,
  configFileTarget,
  ignoreFilesTarget,
  restBodiesTarget,
];

export function targetNamed(name: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.find((t) => t.name === name);
}

/**
 * What a session does with the records of an index update before the engine
 * sees them: replays are dropped (replay-guard.ts) and, past
 * MAX_FREE_REPLAYED_RECORDS_PER_UPDATE, the update is charged; every other
 * record is decoded strictly, and the ones that fail are dropped and charged
 * one point each. Signatures and contents are the engine's to check.
 *
 * The decoded records are not kept: the engine decodes each again where it
 * checks it (record-check.ts), and holding them with a queued update doubled
 * its memory (measured: 10,000 records of 763 bytes, 20 MiB of objects and
 * 10 MiB of copied fields on top of the 7 MiB body).
 */
import { decodeSealedRecord } from '../crypto/index.js';
import { MAX_FREE_REPLAYED_RECORDS_PER_UPDATE, PENALTY } from './limits.js';
import type { ReplayGuard } from './replay-guard.js';

export interface IndexIntake {
  readonly records: Uint8Array[];
  readonly dropped: number;
  readonly replayed: number;
}

/**
 * The update's records the engine should get, or null when a charge closed
 * the session (`charge` returns false then) and nothing is to be handed on.
 */
export function intakeIndexRecords(
  folderKey: string,
  input: readonly Uint8Array[],
  replays: ReplayGuard,
  charge: (reason: string, cost: number) => boolean,
): IndexIntake | null {
  const { fresh, replayed } = replays.filter(folderKey, input);
  if (replayed > MAX_FREE_REPLAYED_RECORDS_PER_UPDATE && !charge('replayed sealed records', PENALTY.replayedRecords)) return null;
  const records: Uint8Array[] = [];
  let dropped = 0;
  for (const bytes of fresh) {
    try {
      decodeSealedRecord(bytes);
      records.push(bytes);
    } catch {
      dropped++;
    }
  }
  if (dropped > 0 && !charge('garbled sealed record', dropped * PENALTY.garbledRecord)) return null;
  return { records, dropped, replayed };
}

/**
 * What a session does with the records of an index update before the engine
 * sees them: replays are dropped (replay-guard.ts) and, past
 * MAX_FREE_REPLAYED_RECORDS_PER_UPDATE, the update is charged; every other
 * record is decoded strictly, and the ones that fail are dropped and charged
 * one point each. Signatures and contents are the engine's to check.
 */
import { decodeSealedRecord, type SealedRecord } from '../crypto/index.js';
import { MAX_FREE_REPLAYED_RECORDS_PER_UPDATE, PENALTY } from './limits.js';
import type { ReplayGuard } from './replay-guard.js';

export interface IndexIntake {
  readonly records: Uint8Array[];
  readonly decoded: SealedRecord[];
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
  const decoded: SealedRecord[] = [];
  let dropped = 0;
  for (const bytes of fresh) {
    try {
      decoded.push(decodeSealedRecord(bytes));
      records.push(bytes);
    } catch {
      dropped++;
    }
  }
  if (dropped > 0 && !charge('garbled sealed record', dropped * PENALTY.garbledRecord)) return null;
  return { records, decoded, dropped, replayed };
}

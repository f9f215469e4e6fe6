/**
 * PullPlanner: what a pull pass must do for each dirty path, decided from the
 * index alone (no disk access): open the held versions, pick the global winner
 * (model/needs.ts) and compare it with the local `files` row, giving one of
 * nothing | fetch | delete | conflict. The Puller then carries the work out
 * (puller.ts) and decides when passes run.
 *
 * - rw folders turn a winner with concurrent losers into a conflict even when
 *   the winner is already here: the losers must survive as copies.
 * - ro folders never resolve (the rw peers publish the resolution) and leave
 *   local edits alone, except during revert(), which also plans the removal of
 *   local additions that have no record at all.
 */
import { locatorFor } from '../../crypto/index.js';
import { toHex, fromHex } from '../../crypto/bytes.js';
import type { FileRecord } from '../../model/types.js';
import { needFor, pickWinner } from '../../model/needs.js';
import { conflictLosers } from './conflicts.js';
import type { PathWork, PullerDeps } from './pull-types.js';
import type { OpenedRecords } from './pull-util.js';

/** Paths planned between two yields to the event loop (opening a record costs ~60 µs); their index rows are read in batches. */
const PLAN_SLICE = 256;
/** Records read per page when the whole folder is examined. */
const RECORDS_PAGE = 1000;

export interface PullPlannerDeps {
  readonly deps: Pick<PullerDeps, 'index' | 'folder' | 'type' | 'keys' | 'isIgnored'>;
  /** Held versions, opened (and cached when they were opened on receipt). */
  readonly opened: OpenedRecords;
  /** A read-only folder is being reverted (Puller.revert). */
  readonly reverting: () => boolean;
  /** A path needs nothing now (Puller: it is no longer parked). */
  readonly settled: (locatorHex: string) => void;
}

export class PullPlanner {
  /** During revert: locator hex → local path, for local additions that have no record. */
  private readonly revertPaths = new Map<string, string>();

  constructor(private readonly p: PullPlannerDeps) {}

  /** Every path of the folder (a full pass): each record's locator, and during revert every local path too. */
  allLocators(): string[] {
    const { index, folder, keys } = this.p.deps;
    const out = new Set<string>();
    let since = 0;
    for (;;) {
      const page = index.recordsSince(folder, since, RECORDS_PAGE);
      for (const r of page) out.add(toHex(r.locator));
      if (page.length < RECORDS_PAGE) break;
      since = page[page.length - 1]!.seq;
    }
    this.revertPaths.clear();
    if (this.p.reverting()) {
      // Local additions have no record at all: they must go too.
      for (const path of index.loadFileStats(folder).keys()) {
        const lh = toHex(locatorFor(keys, path));
        this.revertPaths.set(lh, path);
        out.add(lh);
      }
    }
    return [...out];
  }

  /**
   * What to do for each dirty path. Works in slices of PLAN_SLICE paths: the
   * held versions and the files rows of a slice are read with one query per
   * LOOKUP_BATCH paths (sqlite-index.ts), not two per path, and the event
   * loop gets a turn between slices.
   */
  async plan(locatorHexes: readonly string[], signal: AbortSignal): Promise<PathWork[]> {
    const work: PathWork[] = [];
    const { index, folder, type } = this.p.deps;
    const reverting = this.p.reverting();
    for (let start = 0; start < locatorHexes.length; start += PLAN_SLICE) {
      if (start > 0) {
        await new Promise<void>((r) => setImmediate(r));
        if (signal.aborted) return [];
      }
      const slice = locatorHexes.slice(start, start + PLAN_SLICE);
      const held = index.currentRecordsOf(folder, slice.map((lh) => fromHex(lh)));
      const winners: { lh: string; winner: FileRecord; versions: FileRecord[] }[] = [];
      for (const lh of slice) {
        const versions = this.p.opened.open(held.get(lh) ?? []);
        const winner = pickWinner(versions);
        if (winner === undefined) {
          if (!(reverting && this.planRevertAddition(lh, work))) this.p.settled(lh);
          continue;
        }
        if (this.p.deps.isIgnored?.(winner.path, winner.kind === 'dir')) {
          this.p.settled(lh);
          continue;
        }
        winners.push({ lh, winner, versions });
      }
      const locals = index.getFiles(folder, winners.map((w) => w.winner.path));
      for (const { lh, winner, versions } of winners) {
        const local = locals.get(winner.path);
        let action = needFor(local?.record, winner);
        let losers: FileRecord[] = [];
        if (type === 'ro') {
          // ro peers never resolve (the rw peers publish the resolution) and
          // leave local edits alone until revert().
          if (local?.localChange) action = reverting ? (winner.deleted ? 'delete' : 'fetch') : 'nothing';
          else if (action === 'conflict') action = 'fetch';
        } else {
          losers = conflictLosers(winner, versions);
          // A concurrent version that loses must still survive as a copy, even
          // when ours is the winner: resolve it here too (the names are
          // deterministic, so peers that both resolve meet on equal content).
          if (losers.length > 0 && !winner.deleted && (action === 'nothing' || action === 'fetch')) action = 'conflict';
        }
        if (action !== 'nothing') work.push({ locatorHex: lh, local, winner, versions, losers, action });
        else this.p.settled(lh);
      }
    }
    return work;
  }

  /** Plans the removal of a local addition during revert; false when there is none. */
  private planRevertAddition(lh: string, work: PathWork[]): boolean {
    const path = this.revertPaths.get(lh);
    if (path === undefined) return false;
    const { index, folder } = this.p.deps;
    const local = index.getFile(folder, path);
    if (!local || local.record.deleted) return false;
    const tomb: FileRecord = { ...local.record, deleted: true, blocks: [], size: 0 };
    work.push({ locatorHex: lh, local, winner: tomb, versions: [], losers: [], action: 'delete' });
    return true;
  }
}

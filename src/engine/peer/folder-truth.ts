/**
 * When a folder may say "up to date", and what it says otherwise. One place
 * for the rule (status-schema.ts explains it) so the engines, the daemon and
 * every status reader agree:
 *
 *   error / scanning / syncing  stay what the engine says (it is busy or stopped);
 *   needs something or parked   → waiting, with the reason;
 *   a sharing device is connected, or was seen since the last change → idle;
 *   otherwise                   → unshared, with the reason.
 *
 * FolderPresence tracks the two clocks the rule needs: when a device sharing
 * the folder was last connected, and when the folder last changed.
 */
import type { FolderPeers, FolderState, FolderStatus, ParkedPath, SyncProgress } from './status-schema.js';

export const NO_SHARING_DEVICE_NOTICE = 'no connected device has this folder: wrong key?';
export const NO_DEVICE_NOTICE = 'no device that shares this folder is connected';
export const NOT_SENT_NOTICE = 'changes not sent yet: no device that shares this folder is connected';

/** The status fields a folder engine fills before the state is settled. */
export type FolderFacts = Omit<FolderStatus, 'state' | 'notice'> & {
  /** What the engine is doing: 'idle' means nothing (the rule decides the rest). */
  readonly activity: 'scanning' | 'syncing' | 'idle' | 'error';
};

/** The fields of a status an engine without peers (LocalFolder alone) reports: nothing parked, no peers seen. */
export const NO_PEER_FACTS = {
  errorCode: null,
  notice: null,
  parked: [],
  parkedCount: 0,
  peers: { connected: 0, devicesConnected: 0, lastSeenAt: null },
  lastChangeAt: null,
} as const satisfies Partial<FolderStatus>;

/** The state and notice of a folder, from its facts. */
export function settleFolderState(f: FolderFacts): { state: FolderState; notice: string | null } {
  if (f.activity === 'error' || f.error !== null) return { state: 'error', notice: null };
  if (f.activity === 'scanning' || f.activity === 'syncing') return { state: f.activity, notice: null };
  // A peer withholds or replays: not up to date, whatever the counts say.
  const integrity = f.integrity?.[0];
  if (integrity) return { state: 'waiting', notice: integrity.message };
  const peers = f.peers;
  if (f.needFiles > 0 || f.parkedCount > 0) {
    return { state: 'waiting', notice: waitingNotice(f.needFiles, f.parked, f.parkedCount, peers) };
  }
  if (peers.connected > 0) return { state: 'idle', notice: null };
  if (peers.lastSeenAt !== null && (f.lastChangeAt === null || peers.lastSeenAt >= f.lastChangeAt)) return { state: 'idle', notice: null };
  if (peers.devicesConnected > 0) return { state: 'unshared', notice: NO_SHARING_DEVICE_NOTICE };
  return { state: 'unshared', notice: peers.lastSeenAt !== null ? NOT_SENT_NOTICE : NO_DEVICE_NOTICE };
}

/** A full status from facts (the engines' status()). */
export function settledStatus(f: FolderFacts): FolderStatus {
  const { activity: _activity, ...rest } = f;
  return { ...rest, ...settleFolderState(f) };
}

/**
 * The daemon knows how many devices are connected at all (an engine only
 * knows those that joined its folder): re-settles a status with that number.
 */
export function withDevicesConnected(s: FolderStatus, devicesConnected: number): FolderStatus {
  if (s.peers.devicesConnected === devicesConnected) return s;
  const activity = s.state === 'scanning' || s.state === 'syncing' || s.state === 'error' ? s.state : 'idle';
  return settledStatus({ ...s, activity, peers: { ...s.peers, devicesConnected } });
}

/** Progress of a sync from the bytes done and still needed and the rate; 100 % only when no file is needed. */
export function syncProgress(p: { doneBytes: number; needBytes: number; needFiles: number; rate: number }): SyncProgress {
  const totalBytes = p.doneBytes + p.needBytes;
  return {
    doneBytes: p.doneBytes,
    totalBytes,
    percent: p.needFiles === 0 ? 100 : Math.min(99, Math.floor((p.doneBytes * 100) / Math.max(1, totalBytes))),
    rate: p.rate,
    etaSeconds: p.rate > 0 ? Math.ceil(p.needBytes / p.rate) : null,
  };
}

function waitingNotice(needFiles: number, parked: readonly ParkedPath[], parkedCount: number, peers: FolderPeers): string {
  if (peers.connected === 0) return peers.devicesConnected > 0 ? NO_SHARING_DEVICE_NOTICE : NO_DEVICE_NOTICE;
  const first = parked[0];
  if (first) return `${parkedCount} path(s) wait for a retry (first: ${first.path}: ${first.reason})`;
  return `${needFiles} file(s) needed; no connected device has them yet`;
}

/** Joined peers of a folder and the two clocks of the truth rule. */
export class FolderPresence {
  private readonly joined = new Set<string>();
  private seenAt: number | null = null;
  private changedAt: number | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  peerJoined(peerId: string): void {
    this.joined.add(peerId);
    this.seenAt = this.now();
  }

  peerLeft(peerId: string): void {
    if (this.joined.delete(peerId)) this.seenAt = this.now();
  }

  /** The folder changed (a local edit, a record stored, a file applied). */
  changed(): void {
    this.changedAt = this.now();
    // While a sharing device is connected it sees the change.
    if (this.joined.size > 0) this.seenAt = this.changedAt;
  }

  get peerIds(): ReadonlySet<string> {
    return this.joined;
  }

  get lastChangeAt(): number | null {
    return this.changedAt;
  }

  peers(): FolderPeers {
    if (this.joined.size > 0) this.seenAt = this.now();
    return { connected: this.joined.size, devicesConnected: this.joined.size, lastSeenAt: this.seenAt };
  }
}

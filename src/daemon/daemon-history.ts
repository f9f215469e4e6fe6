/**
 * The daemon's view of the past: a folder's archived versions and conflict
 * copies with device names instead of ids (`folder versions|restore|conflicts`,
 * the dashboard's browser), the devices this one has met (their last
 * announced names, kept across restarts) and the persistent event log.
 * The engines keep device ids (src/engine/sync/folder-history.ts); names are
 * what peers announce, so they are plain text for every client to escape.
 */
import { SealsyncError } from '../errors.js';
import type { Index } from '../index/index.js';
import type { ConflictSide } from '../engine/sync/folder-history.js';
import type { FolderRunner } from './folder-runner.js';
import type {
  ConflictInfo, ConflictSideInfo, DaemonEvent, DeviceRef, FileVersionsInfo, OpOptions, PeerStatus,
} from './daemon-types.js';

export interface DaemonHistoryDeps {
  /** The running folder at `path` (any spelling the daemon accepts); ERR_FOLDER_UNKNOWN otherwise. */
  readonly folder: (path: string) => Promise<{ readonly runner: FolderRunner; readonly path: string }>;
  readonly index: () => Index;
  readonly deviceId: () => string;
  readonly deviceName: () => string;
  readonly peers: () => readonly PeerStatus[];
}

export class DaemonHistory {
  constructor(private readonly deps: DaemonHistoryDeps) {}

  async versions(path: string, under = ''): Promise<FileVersionsInfo[]> {
    const history = await this.historyOf(path);
    const names = this.names();
    return (await history.versions(under)).map((f) => ({
      ...f,
      versions: f.versions.map((v) => ({ ...v, replacedBy: v.replacedBy === null ? null : this.ref(v.replacedBy, names) })),
    }));
  }

  async restore(path: string, file: string, version: string | undefined, opts: OpOptions = {}): Promise<string[]> {
    const history = await this.historyOf(path);
    return history.restore(file, version, opts);
  }

  async conflicts(path: string): Promise<ConflictInfo[]> {
    const history = await this.historyOf(path);
    const names = this.names();
    const side = (s: ConflictSide): ConflictSideInfo => ({ path: s.path, size: s.size, mtimeMs: s.mtimeMs, device: s.writer === null ? null : this.ref(s.writer, names) });
    return history.conflicts().map((c) => ({ file: c.file, original: c.original && side(c.original), copy: side(c.copy) }));
  }

  async keep(path: string, copy: string, keep: 'copy' | 'original', opts: OpOptions = {}): Promise<void> {
    const history = await this.historyOf(path);
    await history.keep(copy, keep, opts);
  }

  /** Events of the log after `afterSeq` (oldest first), or the newest `limit` when afterSeq is null. */
  events(afterSeq: number | null, limit: number): DaemonEvent[] {
    return this.deps.index().history.events(afterSeq, limit).map((e) => JSON.parse(e.json) as DaemonEvent);
  }

  /** Remembers the names of connected peers (called on peer-connected). */
  rememberPeer(peer: PeerStatus): void {
    if (peer.id && peer.name) this.deps.index().history.rememberDevice(peer.id, peer.name, Date.now());
  }

  /** `id` named as the views name it; null for null. */
  deviceRef(id: string | null): DeviceRef | null {
    return id === null ? null : this.ref(id, this.names());
  }

  private async historyOf(path: string) {
    const f = await this.deps.folder(path);
    if (!f.runner.history) throw new SealsyncError('ERR_FOLDER_TYPE', 'versions and conflicts apply to read-write and read-only folders (an encrypted folder holds no plaintext)');
    return f.runner.history;
  }

  private names(): Map<string, string> {
    const names = this.deps.index().history.deviceNames();
    for (const p of this.deps.peers()) if (p.id && p.name) names.set(p.id, p.name);
    names.set(this.deps.deviceId(), this.deps.deviceName());
    return names;
  }

  private ref(id: string, names: Map<string, string>): DeviceRef {
    return { id, name: names.get(id) ?? null, thisDevice: id === this.deps.deviceId() };
  }
}

/**
 * FolderSessionRouter: connects the folder engines of a device (ReplicaFolder
 * for encrypted folders, SyncFolder for full ones) to its peer sessions.
 *
 * How this works
 * --------------
 * - addSession(s), called from the ConnectionManager's 'session' event (before
 *   the session starts): one FolderSessionLink per registered folder, and
 *   one block handler that routes each request by folder id to that folder's
 *   engine (a session has a single handler for all folders).
 * - addFolder(id, engine) binds the new engine to every open session and asks
 *   the sessions to re-read the folder directory (the dialler joins it, the
 *   acceptor re-checks joins it refused). removeFolder undoes both.
 * - A link ends by itself when its session closes; close() ends all.
 *
 * The session only emits events and accepts block requests for folders joined
 * with a valid access proof, so nothing reaches an engine unproven.
 */
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { PeerSession } from '../../net/session.js';
import type { BlockForm } from '../../net/messages.js';
import type { LinkedFolder } from './folder-link.js';
import { FolderSessionLink } from './folder-session-link.js';
import { PeerProgressBook, type PeerFolderProgress } from './peer-progress.js';
import type { FolderStatus } from './status-schema.js';
import { toHex } from '../../crypto/bytes.js';

/** A folder engine the router can bind: the link surface plus block serving. */
export interface RoutedFolder extends LinkedFolder {
  /** The block in the form asked for ('plain' reaches only a full peer's engine, from a peer that proved R). */
  serveBlock(blockId: Uint8Array, opts?: { signal?: AbortSignal; form?: BlockForm }): Promise<Uint8Array | null>;
  /** Its counts, sent to the peers as our progress (absent: none sent). */
  status?(): Pick<FolderStatus, 'globalFiles' | 'globalBytes' | 'needFiles' | 'needBytes' | 'state'>;
}

export interface FolderSessionRouterOptions {
  /** The device's index (its index id goes out in every index update). */
  readonly index: Index;
  readonly logger: Logger;
  /** Passed to each link (tests shorten it). */
  readonly initialAckWaitMs?: number;
}

interface Entry {
  readonly folderId: Uint8Array;
  readonly engine: RoutedFolder;
}


export class FolderSessionRouter {
  private readonly folders = new Map<string, Entry>();
  private readonly sessions = new Set<PeerSession>();
  /** session → folder hex → link */
  private readonly links = new Map<PeerSession, Map<string, FolderSessionLink>>();
  private closed = false;
  private readonly progress = new PeerProgressBook();

  constructor(private readonly opts: FolderSessionRouterOptions) {}

  /** Call for every new session before it starts (ConnectionManager 'session'). */
  addSession(session: PeerSession): void {
    if (this.closed || this.sessions.has(session)) return;
    this.sessions.add(session);
    this.links.set(session, new Map());
    session.onBlockRequest((folderId, blockId, form) => {
      const entry = this.folders.get(toHex(folderId));
      return entry ? entry.engine.serveBlock(blockId, { form }) : Promise.resolve(null);
    });
    session.once('closed', () => this.dropSession(session));
    for (const entry of this.folders.values()) this.bind(session, entry);
  }

  /** Registers a running folder engine; it is bound to every open session. */
  addFolder(folderId: Uint8Array, engine: RoutedFolder): void {
    if (this.closed) return;
    const key = toHex(folderId);
    if (this.folders.has(key)) this.removeFolder(folderId);
    const entry: Entry = { folderId: new Uint8Array(folderId), engine };
    this.folders.set(key, entry);
    for (const session of this.sessions) {
      this.bind(session, entry);
      session.refreshFolders();
    }
  }

  /** Unbinds a folder from every session (its engine is being stopped or removed). */
  removeFolder(folderId: Uint8Array): void {
    const key = toHex(folderId);
    if (!this.folders.delete(key)) return;
    this.progress.forgetFolder(key);
    for (const [session, map] of this.links) {
      map.get(key)?.close();
      map.delete(key);
      session.refreshFolders();
    }
  }

  /** How far each joined device said it is with a folder (peer-progress.ts), by device id. */
  peerProgress(folderId: Uint8Array): ReadonlyMap<string, PeerFolderProgress> {
    return this.progress.of(toHex(folderId));
  }

  /** Number of live links (for tests and status). */
  get linkCount(): number {
    let n = 0;
    for (const map of this.links.values()) n += map.size;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const map of this.links.values()) for (const b of map.values()) b.close();
    this.links.clear();
    this.sessions.clear();
    this.folders.clear();
    this.progress.clear();
  }

  private bind(session: PeerSession, entry: Entry): void {
    const map = this.links.get(session);
    if (!map) return;
    const key = toHex(entry.folderId);
    map.get(key)?.close();
    map.set(key, new FolderSessionLink({
      folder: entry.engine,
      session,
      folderId: entry.folderId,
      index: this.opts.index,
      logger: this.opts.logger,
      progressBook: this.progress,
      ownProgress: () => ownCounts(entry.engine),
      ...(this.opts.initialAckWaitMs !== undefined ? { initialAckWaitMs: this.opts.initialAckWaitMs } : {}),
    }));
  }

  private dropSession(session: PeerSession): void {
    const map = this.links.get(session);
    if (map) for (const b of map.values()) b.close();
    this.links.delete(session);
    this.sessions.delete(session);
  }
}

/** What we tell peers of a folder: nothing while it scans or failed (its counts are not settled). */
function ownCounts(engine: RoutedFolder): { globalFiles: number; globalBytes: number; needFiles: number; needBytes: number } | null {
  const s = engine.status?.();
  if (!s || s.state === 'scanning' || s.state === 'error') return null;
  return { globalFiles: s.globalFiles, globalBytes: s.globalBytes, needFiles: s.needFiles, needBytes: s.needBytes };
}

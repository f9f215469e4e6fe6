/**
 * FolderSessionRouter: connects the folder engines of a device (ReplicaFolder
 * for encrypted folders, SyncFolder for full ones) to its peer sessions.
 *
 * How this works
 * --------------
 * - addSession(s), called from the ConnectionManager's 'session' event (before
 *   the session starts): one ReplicaSessionBinding per registered folder, and
 *   one block handler that routes each request by folder id to that folder's
 *   engine (a session has a single handler for all folders).
 * - addFolder(id, engine) binds the new engine to every open session and asks
 *   the sessions to re-read the folder directory (the dialler joins it, the
 *   acceptor re-checks joins it refused). removeFolder undoes both.
 * - A binding ends by itself when its session closes; close() ends all.
 *
 * The session only emits events and accepts block requests for folders joined
 * with a valid access proof, so nothing reaches an engine unproven.
 */
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { PeerSession } from '../../net/session.js';
import { ReplicaSessionBinding, type LinkedFolder } from './folder-session-link.js';

/** A folder engine the router can bind: the link surface plus block serving. */
export interface RoutedFolder extends LinkedFolder {
  serveBlock(blockId: Uint8Array, opts?: { signal?: AbortSignal }): Promise<Uint8Array | null>;
}

export interface FolderSessionRouterOptions {
  /** The device's index (its index id goes out in every index update). */
  readonly index: Index;
  readonly logger: Logger;
  /** Passed to each binding (tests shorten it). */
  readonly initialAckWaitMs?: number;
}

interface Entry {
  readonly folderId: Uint8Array;
  readonly engine: RoutedFolder;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class FolderSessionRouter {
  private readonly folders = new Map<string, Entry>();
  private readonly sessions = new Set<PeerSession>();
  /** session → folder hex → binding */
  private readonly bindings = new Map<PeerSession, Map<string, ReplicaSessionBinding>>();
  private closed = false;

  constructor(private readonly opts: FolderSessionRouterOptions) {}

  /** Call for every new session before it starts (ConnectionManager 'session'). */
  addSession(session: PeerSession): void {
    if (this.closed || this.sessions.has(session)) return;
    this.sessions.add(session);
    this.bindings.set(session, new Map());
    session.onBlockRequest((folderId, blockId) => {
      const entry = this.folders.get(hex(folderId));
      return entry ? entry.engine.serveBlock(blockId) : Promise.resolve(null);
    });
    session.once('closed', () => this.dropSession(session));
    for (const entry of this.folders.values()) this.bind(session, entry);
  }

  /** Registers a running folder engine; it is bound to every open session. */
  addFolder(folderId: Uint8Array, engine: RoutedFolder): void {
    if (this.closed) return;
    const key = hex(folderId);
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
    const key = hex(folderId);
    if (!this.folders.delete(key)) return;
    for (const [session, map] of this.bindings) {
      map.get(key)?.close();
      map.delete(key);
      session.refreshFolders();
    }
  }

  /** Number of live bindings (for tests and status). */
  get bindingCount(): number {
    let n = 0;
    for (const map of this.bindings.values()) n += map.size;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const map of this.bindings.values()) for (const b of map.values()) b.close();
    this.bindings.clear();
    this.sessions.clear();
    this.folders.clear();
  }

  private bind(session: PeerSession, entry: Entry): void {
    const map = this.bindings.get(session);
    if (!map) return;
    const key = hex(entry.folderId);
    map.get(key)?.close();
    map.set(key, new ReplicaSessionBinding({
      folder: entry.engine,
      session,
      folderId: entry.folderId,
      index: this.opts.index,
      logger: this.opts.logger,
      ...(this.opts.initialAckWaitMs !== undefined ? { initialAckWaitMs: this.opts.initialAckWaitMs } : {}),
    }));
  }

  private dropSession(session: PeerSession): void {
    const map = this.bindings.get(session);
    if (map) for (const b of map.values()) b.close();
    this.bindings.delete(session);
    this.sessions.delete(session);
  }
}

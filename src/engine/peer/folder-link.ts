/**
 * What a folder engine (the full peer's SyncFolder, the encrypted peer's
 * ReplicaFolder) and the owner of the sessions know of each other: a joined
 * peer as the folder sees it (FolderLink), an index update from a peer
 * (IncomingIndex), and the surface a folder offers to the sessions
 * (LinkedFolder). Defined here, below both kinds of folder, so the session
 * plumbing in peer/ never imports from sync/ or replica/.
 */

import type { BlockForm } from '../../net/messages.js';

/** One joined peer, as a folder engine needs it. FolderSessionLink adapts a PeerSession to this. */
export interface FolderLink {
  /** Device id text of the peer. */
  readonly peerId: string;
  /** Sends our records with fromSeq < seq <= toSeq. */
  sendIndex(update: { fromSeq: number; toSeq: number; records: readonly Uint8Array[] }, opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The peer proved it holds R for this folder (and we hold R: we checked it).
   * Then blocks are asked for as plaintext (docs/crypto.md §3.1).
   */
  readonly readsPlaintext?: boolean;
  /** The block in `form` (default sealed; 'plain' only when readsPlaintext), or null when the peer does not have it. */
  requestBlock(blockId: Uint8Array, opts: { signal?: AbortSignal; form?: BlockForm }): Promise<Uint8Array | null>;
  /** Count misbehaviour against the peer (`cost` points, default 1). */
  penalize(reason: string, cost?: number): void;
  /** Sends one page of a signed head (absent on links that carry no heads, e.g. in unit tests). */
  sendHead?(page: Uint8Array): Promise<void>;
}

/** An index update from a peer. */
export interface IncomingIndex {
  /** The sender's index id (16 hex). */
  readonly indexId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly records: readonly Uint8Array[];
}

/** How a folder engine is handed an index update. */
export interface ReceiveIndexOptions {
  readonly signal?: AbortSignal;
  /**
   * Charges the sender. The session link passes its session's, so an update
   * that arrives before the peer's link is attached (the first
   * INITIAL_ACK_WAIT_MS after a join) is charged like any other; without it
   * the engine charges through the attached link, if any.
   */
  readonly penalize?: (reason: string, cost?: number) => void;
}

/**
 * The link-shaped surface a folder engine offers to the owner of the sessions.
 * ReplicaFolder and the full peer's SyncFolder both have it, so one
 * FolderSessionLink serves both.
 */
export interface LinkedFolder {
  attachPeer(link: FolderLink, opts?: { since?: number }): void;
  /**
   * The peer left. With `link`, only when that link is still the one attached:
   * a device's older session that ends after a newer one attached (two
   * connections deduplicated) must not detach the newer one.
   */
  detachPeer(peerId: string, link?: FolderLink): void;
  acknowledge(peerId: string, seq: number): void;
  receiveIndex(peerId: string, update: IncomingIndex, opts?: ReceiveIndexOptions): Promise<number | null>;
  peerProgress(peerId: string): { indexId: string; maxSeq: number } | null;
  /** A page of a signed head from a peer (verified, kept and forwarded by the folder). */
  receiveHead?(peerId: string, page: Uint8Array, opts?: ReceiveIndexOptions): void;
}

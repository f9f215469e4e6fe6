/**
 * What a PeerSession's owner and its parts share: the folder directory it
 * asks, the events' payloads, its options and limits.
 */
import type { Logger } from '../logger.js';
import type { BlockForm, IndexUpdate } from './messages.js';

/** What the session needs to know about this device's folders. */
export interface FolderDirectory {
  /** `readProofKey`: only on a full peer (it holds R, so it can prove it and check the peer's proof). */
  lookup(folderId: Uint8Array): { readonly accessSecret: Uint8Array; readonly readProofKey?: Uint8Array } | undefined;
  /** Folders this device shares (the dialler offers each one). */
  folderIds(): Iterable<Uint8Array>;
}

/** The 'index' event: an IndexUpdate whose records all decoded strictly. */
export interface ReceivedIndex extends IndexUpdate {
  /** Raw bytes of every record that decoded strictly, in order (not yet verified: the engine's job). */
  readonly records: readonly Uint8Array[];
  /** Records that failed to decode: dropped, and charged to the peer. */
  readonly dropped: number;
  /** Records sent twice (in this update, or earlier in this session): dropped, and charged past a few. */
  readonly replayed: number;
  /**
   * Keeps this update counted against the session's index queue until the
   * returned function is called (once it is applied). While
   * MAX_QUEUED_INDEX_UPDATES are held, the session reads nothing more from
   * the peer. Without a hold the update is done when the listeners return.
   */
  hold(): () => void;
}

/** Serves one block in the form asked for ('plain' only reaches it from a peer that proved R). */
export type BlockRequestHandler = (folderId: Uint8Array, blockId: Uint8Array, form: BlockForm) => Promise<Uint8Array | null>;

export interface SessionLimits {
  handshakeTimeoutMs: number;
  keepaliveMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  maxInflightRequests: number;
  maxMisbehaviour: number;
  misbehaviourDecayMs: number;
}

export interface PeerSessionOptions {
  localName: string;
  directory: FolderDirectory;
  clientVersion?: string;
  logger?: Logger;
  limits?: Partial<SessionLimits>;
  /** Optional bandwidth limits, bytes per second. */
  rateLimit?: { inBytesPerSec?: number; outBytesPerSec?: number };
  now?: () => number;
}

export interface SessionStats {
  inBytes: number;
  outBytes: number;
  inRate: number;
  outRate: number;
}

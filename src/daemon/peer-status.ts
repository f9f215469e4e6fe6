/**
 * Peer rows of the status report: the network's counters, how many folders
 * each peer shares with this device now, and why a peer is down or useless
 * (status-schema.ts, peerProblemSchema) with the times of the last and next
 * dial. Nothing here is a secret: addresses, device ids and error words.
 */
import type { PeerProblem, PeerStatus } from '../engine/peer/status-schema.js';
import type { PeerStatus as NetPeerStatus } from '../net/connection-manager.js';

export const NO_SHARED_FOLDER_MESSAGE = 'connected, but it shares no folder with this device (a wrong key on either side?)';
const NOT_DIALLED_MESSAGE = 'not connected yet';

/** A configured address the network has not started dialling (no network, or before start). */
export function offlinePeer(address: string): PeerStatus {
  return {
    id: null, name: null, address, connected: false, inBytes: 0, outBytes: 0, inRate: 0, outRate: 0,
    sharedFolders: 0, problem: { reason: 'other', message: 'the network is not running', lastAttemptAt: null, nextAttemptAt: null },
  };
}

/** One peer row; `sharedFolders`: folders whose engine has this peer joined now. */
export function peerStatusOf(p: NetPeerStatus, sharedFolders: number, extra: { folders?: string[]; seenAt?: ReadonlyMap<string, number>; now?: number } = {}): PeerStatus {
  const lastSeenAt = p.connected && extra.now !== undefined ? extra.now : (p.id ? extra.seenAt?.get(p.id) ?? null : null);
  return {
    ...(extra.folders ? { folders: extra.folders } : {}),
    ...(extra.seenAt ? { lastSeenAt } : {}),
    id: p.id || null,
    name: p.name || null,
    address: p.address,
    connected: p.connected,
    inBytes: p.inBytes,
    outBytes: p.outBytes,
    inRate: p.inRate,
    outRate: p.outRate,
    sharedFolders,
    problem: problemOf(p, sharedFolders),
  };
}

function problemOf(p: NetPeerStatus, sharedFolders: number): PeerProblem | null {
  if (p.connected) {
    return sharedFolders > 0 ? null : { reason: 'no-shared-folder', message: NO_SHARED_FOLDER_MESSAGE, lastAttemptAt: null, nextAttemptAt: null };
  }
  return {
    reason: p.lastErrorReason ?? 'other',
    message: p.lastError ?? NOT_DIALLED_MESSAGE,
    lastAttemptAt: p.lastAttemptAt ?? null,
    nextAttemptAt: p.nextAttemptAt ?? null,
  };
}

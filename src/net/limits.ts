/**
 * Every limit this device enforces against the network, in one place: what a
 * connection may cost before it proved anything, what a session may queue,
 * what a folder member may make us do, and the memory all of that adds up to
 * per peer (docs/security.md, "Network attackers and folder members", lists
 * the same values and what each one stops).
 *
 * The wire format's own maxima (the largest frame, index message and sealed
 * record: the same for every peer, part of the protocol) stay with their
 * codecs and are re-exported here, so this module is the whole list.
 */
import { MAX_SEALED_BLOCK_BYTES } from '../crypto/sealed-block.js';
import { MAX_SEALED_RECORD_BYTES } from '../crypto/sealed-record.js';
import { MAX_HEAD_PAGE_BYTES } from '../crypto/signed-head.js';
import { MAX_FRAME_BYTES } from './frame-codec.js';
import { MAX_INDEX_MESSAGE_BYTES, MAX_RECORDS_PER_INDEX_MESSAGE } from './messages.js';

export { MAX_FRAME_BYTES, MAX_SEALED_BLOCK_BYTES, MAX_INDEX_MESSAGE_BYTES, MAX_RECORDS_PER_INDEX_MESSAGE, MAX_SEALED_RECORD_BYTES };

const KIB = 1024;
const MIB = 1024 * KIB;

// ---------------------------------------------------------------------------
// Connections that proved nothing yet

/**
 * From the TCP accept to the peer's Hello (TLS handshake included): a
 * connection still short of its Hello then is destroyed. The listener enforces
 * the TLS part, the session the rest of the same deadline.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Dialling: TCP connect and TLS handshake. */
export const DIAL_TIMEOUT_MS = 15_000;
/** Every socket the listener holds, whatever its state (TCP's own cap; beyond it new ones are dropped). */
export const MAX_INCOMING_CONNECTIONS = 256;
/**
 * Incoming connections that have not joined a folder yet (in their TLS
 * handshake, before their Hello, or a session that shares no folder).
 * Beyond it a new connection is closed at once, before TLS.
 */
export const MAX_UNJOINED_CONNECTIONS = 64;
/**
 * Of those, from one source: one IPv4 address, or one IPv6 /64 (a single
 * host usually owns a whole /64). Joined sessions do not count: users
 * behind one NAT, and tests, share an address.
 */
export const MAX_UNJOINED_CONNECTIONS_PER_ADDRESS = 8;
/**
 * Sessions past their Hello that share no folder with us cost a socket and
 * pings but carry nothing; anyone can mint device certificates. Beyond this
 * many, the oldest such session is closed.
 */
export const MAX_IDLE_INCOMING_SESSIONS = 32;
/**
 * Sessions per device id: one. When two connections to one device meet, both
 * sides keep the one dialled by the smaller id (ConnectionManager).
 */
export const MAX_SESSIONS_PER_DEVICE = 1;
/** Refused or failed incoming connections logged one per line, at most this many per window… */
export const REFUSAL_LOG_LINES_PER_WINDOW = 10;
/** …after which one summary line per window counts the rest. */
export const REFUSAL_LOG_WINDOW_MS = 60_000;

// ---------------------------------------------------------------------------
// Frames and inbound bytes

/**
 * Largest frame before this session joined a folder (and, after, of any type
 * but IndexUpdate and an answered BlockResponse). The largest legitimate one is
 * a Hello (108 bytes); the big frames need a joined folder.
 */
export const MAX_UNJOINED_FRAME_BYTES = 4 * KIB;
/** Largest Head frame: type byte, folder id and the largest signed head page (within the index frame's, so no new memory). */
export const MAX_HEAD_FRAME_BYTES = 1 + 32 + MAX_HEAD_PAGE_BYTES;
/** Largest IndexUpdate frame: type byte, header and the largest raw body. */
export const MAX_INDEX_FRAME_BYTES = 1 + 57 + MAX_INDEX_MESSAGE_BYTES;
/**
 * Bytes read ahead of the frame being handled: reading stops (socket paused)
 * once the buffer holds the largest frame the session accepts now plus this,
 * and resumes when the pump has taken half of it.
 */
export const INBOUND_SLACK_BYTES = 64 * KIB;

// ---------------------------------------------------------------------------
// Session timers and request counts

export const KEEPALIVE_MS = 30_000;
export const IDLE_TIMEOUT_MS = 90_000;
/** A 16 MiB block over a slow, rate-limited link needs time. */
export const REQUEST_TIMEOUT_MS = 120_000;
/** Block requests this side keeps in flight (more wait for a slot). */
export const MAX_INFLIGHT_REQUESTS = 64;
/**
 * Unanswered block requests a peer may have outstanding with us. Part of the
 * protocol contract: generous (peers may be configured differently), and a
 * queued request costs ~100 bytes; beyond it a request is misbehaviour.
 */
export const MAX_PEER_UNANSWERED_REQUESTS = 256;
/** Block requests of one peer read and sealed at once. */
export const SERVE_CONCURRENCY = 8;
/**
 * Bytes a session may queue on its socket before a write waits for 'drain'.
 * The stream's own mark (16 KiB) made nearly every frame wait, and a drain
 * completes only in a later turn of the event loop: while the sender scanned
 * (a turn every ~1 ms plus the scan's slice) each served 4 KiB block waited
 * 10-40 ms for it, with SERVE_CONCURRENCY answers in flight. 1 MiB is 8
 * blocks of 128 KiB; a block larger than that still waits for its own drain,
 * so memory stays bounded by SERVE_CONCURRENCY blocks plus this.
 */
export const SEND_BUFFER_MAX_BYTES = 1 * MIB;
export const MAX_JOIN_MESSAGES = 1024;
export const MAX_REMEMBERED_REFUSALS = 256;
export const MAX_REMEMBERED_EXPIRED_REQUESTS = 1024;
/** After a Close, the socket is destroyed this long later if the peer has not closed its side. */
export const CLOSE_GRACE_MS = 2_000;

// ---------------------------------------------------------------------------
// Index updates from a joined peer

/**
 * Index updates of one session handed to the engine and not yet applied.
 * At the limit the session stops reading (so TCP pushes back on the sender)
 * until the engine finishes one.
 */
export const MAX_QUEUED_INDEX_UPDATES = 2;
/**
 * Records remembered per joined folder per session (a 48-bit fingerprint of
 * each record's bytes), to spot a record sent twice in one session. An honest
 * peer never does: its cursor only moves forward.
 */
export const MAX_REMEMBERED_RECORDS_PER_FOLDER = 65_536;
/** Replayed records (sent twice in one session or within one update) dropped for free per update; beyond, the update is charged. */
export const MAX_FREE_REPLAYED_RECORDS_PER_UPDATE = 16;
/**
 * An update of at least this many records of which more than half are
 * dominated by versions we hold is charged. An honest relay sends a few such
 * records (it learned an edit later than we did); an update made of them is a
 * replay of old records.
 */
export const MIN_RECORDS_FOR_DOMINATED_CHARGE = 64;
/** Block ids remembered per peer per folder (as 48-bit prefixes); beyond this the peer counts as "may have anything". */
export const MAX_TRACKED_BLOCK_IDS_PER_PEER = 262_144;

// ---------------------------------------------------------------------------
// Misbehaviour

/** Points a peer may have before it is dropped; one point drains every MISBEHAVIOUR_DECAY_MS. */
export const MAX_MISBEHAVIOUR = 16;
export const MISBEHAVIOUR_DECAY_MS = 60_000;
/** What each offence costs (the engine charges its own through session.penalize). */
export const PENALTY = {
  garbledRecord: 1,
  notJoined: 2,
  tooManyRequests: 2,
  unsolicited: 4,
  /** An update with more than MAX_FREE_REPLAYED_RECORDS_PER_UPDATE replayed records. */
  replayedRecords: 2,
  /** An update of mostly dominated records (see MIN_RECORDS_FOR_DOMINATED_CHARGE). */
  dominatedRecords: 1,
} as const;

// ---------------------------------------------------------------------------
// Memory per peer (what the limits above add up to; docs/security.md)

/**
 * One index update in memory, at most: the frame it came in and the inflated
 * body (both while it is decoded), and per record a view and the engine's
 * check objects (~1 KiB). Measured: a 7.3 MiB update of 10,000 records held
 * 19 MiB with its frame still referenced; the formula gives 26 MiB.
 */
export const INDEX_UPDATE_MEMORY_BYTES = 2 * MAX_INDEX_MESSAGE_BYTES + MAX_RECORDS_PER_INDEX_MESSAGE * KIB;
/** A set entry (a fingerprint or a block-id prefix: a heap number in a hash set), measured at ~40 bytes. */
const SET_ENTRY_BYTES = 40;
/**
 * An incoming connection that has joined nothing: its read buffer (a frame of
 * at most MAX_UNJOINED_FRAME_BYTES plus the slack, and one socket read) and
 * the TLS state (two 16 KiB records and the handshake, ~64 KiB).
 */
export const UNJOINED_PEER_MEMORY_BYTES = MAX_UNJOINED_FRAME_BYTES + INBOUND_SLACK_BYTES + 64 * KIB + 64 * KIB;
/**
 * A joined peer, in the worst case the peer can cause: a read buffer holding
 * the largest frame and the frame assembled from it; MAX_QUEUED_INDEX_UPDATES
 * updates; the replay fingerprints and block-id prefixes of one folder; and
 * the blocks being served to it (SERVE_CONCURRENCY of the largest block, plus
 * the send buffer). The last term is what the peer can make us read: with
 * files under 2 GiB no block exceeds 512 KiB and it is ~5 MiB, not 129.
 */
export const JOINED_PEER_MEMORY_BYTES =
  2 * MAX_FRAME_BYTES + INBOUND_SLACK_BYTES +
  MAX_QUEUED_INDEX_UPDATES * INDEX_UPDATE_MEMORY_BYTES +
  (MAX_REMEMBERED_RECORDS_PER_FOLDER + MAX_TRACKED_BLOCK_IDS_PER_PEER) * SET_ENTRY_BYTES +
  SERVE_CONCURRENCY * MAX_SEALED_BLOCK_BYTES + SEND_BUFFER_MAX_BYTES;
/**
 * A joined peer in a folder whose files are all under 2 GiB (blocks of at
 * most 512 KiB: src/fs/chunker.ts), the common case.
 */
export const JOINED_PEER_MEMORY_BYTES_SMALL_BLOCKS =
  JOINED_PEER_MEMORY_BYTES - SERVE_CONCURRENCY * (MAX_SEALED_BLOCK_BYTES - 512 * KIB) - (MAX_FRAME_BYTES - MAX_INDEX_FRAME_BYTES) * 2;
/** The daemon with no peer: node, the daemon's code, SQLite's cache, the hash workers (measured ~150 MiB; with room). */
export const DAEMON_BASE_MEMORY_BYTES = 256 * MIB;
/** Joined peers the systemd unit's MemoryMax is sized for (a server with a handful of devices). */
export const SERVICE_SIZED_FOR_JOINED_PEERS = 8;

/**
 * The systemd unit's MemoryMax (contrib/sealsync.service; a test checks they
 * agree): the base, every unjoined connection the caps allow, and
 * SERVICE_SIZED_FOR_JOINED_PEERS joined peers at their small-block bound,
 * rounded up to a whole 64 MiB.
 */
export function serviceMemoryMaxBytes(): number {
  const raw = DAEMON_BASE_MEMORY_BYTES + MAX_UNJOINED_CONNECTIONS * UNJOINED_PEER_MEMORY_BYTES +
    SERVICE_SIZED_FOR_JOINED_PEERS * JOINED_PEER_MEMORY_BYTES_SMALL_BLOCKS;
  return Math.ceil(raw / (64 * MIB)) * 64 * MIB;
}

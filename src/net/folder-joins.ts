/**
 * Which folders a session has joined, and the Join / JoinResult exchange that
 * decides it (the protocol is in docs/protocol.md, "Session").
 *
 * The dialler (TLS client) sends Join for every folder it shares, with its
 * 'client' access proof bound to this TLS session (exporter). The acceptor
 * answers JoinResult ok with its own 'server' proof when it has the folder
 * and the proof verifies, else JoinResult not-ok: the same message, after the
 * same work, whether the folder is unknown or the proof wrong, so a prober
 * learns nothing. The dialler verifies the server proof (mutual). A refused
 * Join is remembered by the acceptor; if it adds the folder later, refresh()
 * re-checks the proof and answers ok late.
 *
 * Read proofs (v2): a side that holds R adds its read proof to Join /
 * JoinResult; a side that holds R too checks it (an encrypted peer cannot and
 * ignores it). A verified read proof marks the peer a reader of the folder
 * (`peerReads`), the condition for exchanging plaintext blocks. A read proof
 * that does not verify closes the session (misbehaviour past the limit): a
 * peer with A for this folder can only get R wrong on purpose.
 */
import { randomBytes } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { accessProof, readProof, verifyAccessProof, verifyReadProof } from '../crypto/index.js';
import type { Logger } from '../logger.js';
import { MAX_JOIN_MESSAGES, MAX_REMEMBERED_REFUSALS, PENALTY } from './limits.js';
import type { Join, JoinResult } from './messages.js';
import { toHex } from '../crypto/bytes.js';
import type { FolderDirectory } from './session-types.js';

/** What the joins need from their session. */
export interface JoinHost {
  readonly direction: 'outgoing' | 'incoming';
  readonly directory: FolderDirectory;
  readonly log: Logger;
  /** Points that close the session at once. */
  readonly maxMisbehaviour: number;
  send(msg: Join | JoinResult): void;
  /** This TLS session's keying material for a folder's proofs. */
  exporter(folderId: Uint8Array): Uint8Array;
  penalize(reason: string, cost: number): void;
  /** A folder is now joined both ways (the session emits 'joined'). */
  onJoined(folderId: Uint8Array): void;
  /** This device stopped sharing a joined folder (the session emits 'left'). */
  onLeft(folderId: Uint8Array): void;
}

export class FolderJoins {
  private readonly joined = new Map<string, Uint8Array>();
  /** Joined folders whose peer proved it holds R (we hold R too and checked it). */
  private readonly readers = new Set<string>();
  /** Dialler: Joins sent and not yet answered. */
  private readonly pending = new Set<string>();
  /** Dialler: folders the peer refused (it may accept later, see refresh). */
  private readonly refusedByPeer = new Set<string>();
  /** Acceptor: refused Joins, kept so a folder added later can be accepted without a new Join. */
  private readonly refusals = new Map<string, Join>();
  private joinMessages = 0;
  /** Folders this side left during the session; the peer may still send for them. */
  private readonly left = new Set<string>();
  /** Used instead of a real secret for unknown folders, so both refusals cost the same work. */
  private readonly decoySecret = new Uint8Array(randomBytes(32));
  /** A folder was joined at some point of this session (the large frames are allowed from then on). */
  everJoined = false;

  constructor(private readonly host: JoinHost) {}

  ids(): Uint8Array[] {
    return [...this.joined.values()];
  }

  has(folderId: Uint8Array): boolean {
    return this.joined.has(toHex(folderId));
  }

  /** The peer proved it holds R for this joined folder: plaintext blocks may go both ways. */
  peerReads(folderId: Uint8Array): boolean {
    return this.readers.has(toHex(folderId));
  }

  /** True when this side left the folder during the session (the peer cannot know yet). */
  wasLeft(folderId: Uint8Array): boolean {
    return this.left.has(toHex(folderId));
  }

  /**
   * Re-reads the directory after this device added or removed a folder:
   * leaves folders that are gone, the dialler joins new ones, and the acceptor
   * re-checks Joins it refused earlier.
   */
  refresh(): void {
    const { directory } = this.host;
    for (const [key, folderId] of this.joined) {
      if (!directory.lookup(folderId)) {
        this.joined.delete(key);
        this.readers.delete(key);
        this.left.add(key);
        this.host.onLeft(folderId);
      }
    }
    if (this.host.direction === 'outgoing') {
      for (const folderId of directory.folderIds()) {
        const key = toHex(folderId);
        if (this.joined.has(key) || this.pending.has(key) || this.refusedByPeer.has(key)) continue;
        const entry = directory.lookup(folderId);
        if (!entry) continue;
        this.pending.add(key);
        const exporter = this.host.exporter(folderId);
        const proof = accessProof(entry.accessSecret, exporter, folderId, 'client');
        const ours = entry.readProofKey ? readProof(entry.readProofKey, exporter, folderId, 'client') : undefined;
        this.host.send(ours ? { type: 'join', folderId, proof, readProof: ours } : { type: 'join', folderId, proof });
      }
      return;
    }
    for (const [key, join] of this.refusals) {
      const entry = directory.lookup(join.folderId);
      if (!entry) continue;
      const exporter = this.host.exporter(join.folderId);
      if (!verifyAccessProof(entry.accessSecret, exporter, join.folderId, 'client', join.proof)) continue;
      this.refusals.delete(key);
      this.accept(key, join, entry, exporter, accessProof(entry.accessSecret, exporter, join.folderId, 'server'));
    }
  }

  onJoin(msg: Join): void {
    if (this.host.direction !== 'incoming') throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: Join sent by the acceptor');
    if (++this.joinMessages > MAX_JOIN_MESSAGES) {
      this.host.penalize('too many Join messages', this.host.maxMisbehaviour + 1);
      return;
    }
    const key = toHex(msg.folderId);
    // A repeated Join is legal (the dialler left the folder and added it again).
    const entry = this.host.directory.lookup(msg.folderId);
    // Same work and same answer for "unknown folder" and "wrong proof".
    const secret = entry?.accessSecret ?? this.decoySecret;
    const exporter = this.host.exporter(msg.folderId);
    const valid = verifyAccessProof(secret, exporter, msg.folderId, 'client', msg.proof);
    const serverProof = accessProof(secret, exporter, msg.folderId, 'server');
    if (entry && valid) {
      this.refusals.delete(key);
      this.accept(key, msg, entry, exporter, serverProof);
      return;
    }
    if (!this.refusals.has(key) && this.refusals.size >= MAX_REMEMBERED_REFUSALS) {
      const oldest = this.refusals.keys().next().value;
      if (oldest !== undefined) this.refusals.delete(oldest);
    }
    this.refusals.set(key, msg);
    this.host.send({ type: 'joinResult', folderId: msg.folderId, ok: false });
  }

  onJoinResult(msg: JoinResult): void {
    if (this.host.direction !== 'outgoing') throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: JoinResult sent by the dialler');
    const key = toHex(msg.folderId);
    const asked = this.pending.has(key) || this.refusedByPeer.has(key);
    if (!asked || this.joined.has(key)) return this.host.penalize('unsolicited JoinResult', PENALTY.unsolicited);
    this.pending.delete(key);
    if (!msg.ok) {
      this.refusedByPeer.add(key);
      return;
    }
    const entry = this.host.directory.lookup(msg.folderId);
    if (!entry) return; // we removed the folder meanwhile
    const exporter = this.host.exporter(msg.folderId);
    if (!msg.proof || !verifyAccessProof(entry.accessSecret, exporter, msg.folderId, 'server', msg.proof)) {
      throw new SealsyncError('ERR_ACCESS_PROOF', 'peer accepted a folder but could not prove it knows the folder key');
    }
    this.refusedByPeer.delete(key);
    if (!this.noteReadProof(key, entry.readProofKey, exporter, msg.folderId, 'server', msg.readProof)) return;
    this.markJoined(key, msg.folderId);
  }

  private accept(
    key: string,
    join: Join,
    entry: { readonly readProofKey?: Uint8Array },
    exporter: Uint8Array,
    serverProof: Uint8Array,
  ): void {
    const folderId = join.folderId;
    if (!this.noteReadProof(key, entry.readProofKey, exporter, folderId, 'client', join.readProof)) return;
    const ours = entry.readProofKey ? readProof(entry.readProofKey, exporter, folderId, 'server') : undefined;
    // Sent before 'joined' is emitted, so anything a listener sends follows the JoinResult.
    this.host.send(ours
      ? { type: 'joinResult', folderId, ok: true, proof: serverProof, readProof: ours }
      : { type: 'joinResult', folderId, ok: true, proof: serverProof });
    if (this.joined.has(key)) return;
    this.markJoined(key, folderId);
  }

  /**
   * Marks the peer a reader when its read proof verifies. A wrong one is
   * hostile: the session closes and the folder is not joined (false).
   */
  private noteReadProof(
    key: string,
    readProofKey: Uint8Array | undefined,
    exporter: Uint8Array,
    folderId: Uint8Array,
    from: 'client' | 'server',
    proof: Uint8Array | undefined,
  ): boolean {
    this.readers.delete(key);
    // An encrypted side (no R) can neither check a read proof nor use plaintext: it ignores it.
    if (!readProofKey || !proof) return true;
    if (!verifyReadProof(readProofKey, exporter, folderId, from, proof)) {
      this.host.penalize('read proof does not verify', this.host.maxMisbehaviour + 1);
      return false;
    }
    this.readers.add(key);
    return true;
  }

  private markJoined(key: string, folderId: Uint8Array): void {
    this.joined.set(key, folderId);
    this.left.delete(key);
    this.everJoined = true;
    this.host.log.debug({ folder: key.slice(0, 16) }, 'folder joined');
    this.host.onJoined(folderId);
  }
}

/**
 * "My devices": invites, joins, approvals, unlinking and the shared keyring
 * (docs/security.md, "Linked devices"; docs/protocol.md, "Device linking").
 *
 * How this works
 * --------------
 * - `invite()` makes a one-time code (crypto/invite.ts) and keeps its secret
 *   in memory (invite-book.ts). A joiner dials our link channel pinned to the
 *   id in the code and sends `join` with an HMAC proof bound to the TLS
 *   session and both device ids; we check rate limits, the invite's state and
 *   the proof, consume the invite, prove the secret back, and then wait for
 *   `approve(id)` (or approve at once when the inviter chose --auto-approve).
 * - Approved, a device joins the keyring (keyring.ts) and receives it whole;
 *   a server receives only the encrypted keys of the folders the invite named
 *   and is listed as a server (pinned by id, never linked).
 * - Linked devices exchange keyrings over the pinned link channel after every
 *   local change, when a sync session with one opens, and every
 *   KEYRING_SYNC_INTERVAL_MS; each merges what it gets. New folders in the
 *   keyring are added under `into`, each under its own name; linked devices
 *   and servers become pinned dial targets; unlinked ids are refused.
 * - `unlink(id)` adds the id to `unlinked` (refused from then on, by every
 *   linked device once the keyring reaches it) and rotates the keyring secret.
 *   Keys the device already holds are not taken back.
 *
 * Why one class of over 400 lines: serving a join, joining, unlinking and
 * keyring sync all change the one keyring file under one mutex, and stop()
 * must close every link channel and timer they opened. What stands alone
 * lives apart: the invites (invite-book.ts), the keyring's format and merge
 * (keyring.ts), the messages (link-messages.ts), the channel
 * (net/link-channel.ts).
 */
import { mkdir, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { formatDeviceId, parseDeviceId } from '../../crypto/device-id.js';
import { formatInviteCode, inviteIdOf, inviteLink, inviteProof, parseInviteCode, verifyInviteProof } from '../../crypto/invite.js';
import { fromHex, toHex } from '../../crypto/bytes.js';
import { deriveEncrypted, type FolderKeys } from '../../crypto/keys.js';
import { checkKeyText, folderIdText, formatKey, keyTypeName, parseKey } from '../../crypto/key-text.js';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { LinkChannel, dialLink } from '../../net/link-channel.js';
import { formatPeerAddress, parsePeerAddress } from '../../net/peer-address.js';
import type { DeviceCredentials, SecureConnection } from '../../net/transport.js';
import { InviteBook, INVITE_TTL_MS, inviteTtlFromEnv, refusal, type RefusalReason } from './invite-book.js';
import {
  checkKeyring, emptyKeyring, folderIdOfKey, folderName, loadKeyringFile, mergeKeyrings, newKeyringSecret, saveKeyringFile,
  MAX_DEVICE_ADDRESSES, type Keyring, type KeyringDevice, type KeyringFile,
} from './keyring.js';
import {
  decision, firstMessage, joinAnswer, keyringAnswer, parseLinkMessage, type JoinMessage,
} from './link-messages.js';
import type { CreatedInvite, DevicesReport, InviteInfo, InviteRequest, JoinOptions, JoinResult, PendingJoin } from './device-types.js';

export const KEYRING_SYNC_INTERVAL_MS = 30_000;
const LINK_DIAL_TIMEOUT_MS = 5_000;
/** How long a used invite waits for the inviter's decision (the joiner waits a little longer). */
const APPROVAL_WAIT_MS = INVITE_TTL_MS;
const JOINER_WAIT_MS = APPROVAL_WAIT_MS + 30_000;
const MAX_PENDING_JOINS = 16;
const MAX_NAME_SUFFIX = 100;

/** What the device manager needs from the daemon. */
export interface DeviceHost {
  readonly identity: DeviceCredentials;
  readonly keyringPath: string;
  readonly log: Logger;
  readonly now: () => number;
  deviceName(): string;
  listenAddresses(): string[];
  /** The folders of this device now. */
  folders(): readonly { path: string; keys: FolderKeys }[];
  addFolder(path: string, key: string): Promise<void>;
  /** Adds peers pinned by device id to the config (a server's inviter). */
  addPinnedPeers(peers: readonly { address: string; deviceId: string }[]): Promise<void>;
  /** The keyring's devices or servers changed: re-read dial targets and refused ids. */
  targetsChanged(): void;
  connectedDevices(): ReadonlySet<string>;
}

interface Pending {
  readonly info: PendingJoin;
  readonly decide: (approved: boolean) => void;
}

export class DeviceManager {
  private file: KeyringFile | null = null;
  private readonly book: InviteBook;
  private readonly pending = new Map<string, Pending>();
  private readonly channels = new Set<LinkChannel>();
  private timer: NodeJS.Timeout | null = null;
  private pushTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private stopped = false;
  /** Serializes keyring changes (merge, add, unlink) and the folder adds they cause. */
  private mutex: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();

  constructor(private readonly host: DeviceHost) {
    this.book = new InviteBook(host.now, inviteTtlFromEnv());
  }

  get selfId(): string {
    return this.host.identity.deviceId;
  }

  async start(): Promise<void> {
    this.file = await loadKeyringFile(this.host.keyringPath);
    this.timer = setInterval(() => this.syncSoon(0), KEYRING_SYNC_INTERVAL_MS);
    this.timer.unref();
    if (this.file) {
      await this.exclusive(() => this.applyKeyring());
      this.syncSoon(0);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    this.timer = null;
    this.pushTimer = null;
    for (const p of this.pending.values()) p.decide(false);
    this.pending.clear();
    for (const ch of this.channels) ch.close();
    this.channels.clear();
    this.book.clear();
    await this.syncing?.catch(() => undefined);
    await this.mutex.catch(() => undefined);
  }

  /** Device ids every linked device refuses. */
  refusedDevices(): readonly string[] {
    return this.file?.keyring.unlinked ?? [];
  }

  /** Linked devices and servers to dial, pinned by id. */
  dialTargets(): { address: string; deviceId: string }[] {
    const k = this.file?.keyring;
    if (!k) return [];
    const out: { address: string; deviceId: string }[] = [];
    for (const d of [...k.devices, ...k.servers]) {
      if (d.id === this.selfId) continue;
      for (const address of d.addresses) out.push({ address, deviceId: d.id });
    }
    return out;
  }

  isLinked(deviceId: string): boolean {
    return this.file?.keyring.devices.some((d) => d.id === deviceId && d.id !== this.selfId) ?? false;
  }

  /** The keyring secret (for LAN discovery among linked devices), or null when not linked. */
  keyringSecret(): Uint8Array | null {
    return this.file ? fromHex(this.file.keyring.secret) : null;
  }

  report(): DevicesReport {
    const k = this.file?.keyring;
    const connected = this.host.connectedDevices();
    const row = (d: KeyringDevice) => ({ id: d.id, name: d.name, addresses: d.addresses, self: d.id === this.selfId, connected: connected.has(d.id) });
    return {
      linked: k !== undefined,
      devices: k ? k.devices.map(row) : [row(this.selfEntry())],
      servers: k ? k.servers.map(row) : [],
      pending: [...this.pending.values()].map((p) => p.info),
      unlinked: k?.unlinked ?? [],
      into: this.file?.local.into ?? null,
      keyringGeneration: k?.generation ?? 0,
    };
  }

  listInvites(): InviteInfo[] {
    return this.book.list();
  }

  revokeInvite(id: string): InviteInfo {
    return this.book.revoke(id);
  }

  // ---- inviting ------------------------------------------------------------

  async invite(req: InviteRequest): Promise<CreatedInvite> {
    const serverPaths = req.server ?? [];
    const kind = serverPaths.length > 0 ? 'server' : 'device';
    const folders: string[] = [];
    for (const p of serverPaths) {
      const f = this.host.folders().find((x) => x.path === p);
      if (!f) throw new SealsyncError('ERR_FOLDER_UNKNOWN', `${p.slice(0, 300)} is not a shared folder`);
      folders.push(f.path);
    }
    const addresses = inviteAddresses(this.host.listenAddresses());
    if (addresses.length === 0) throw new SealsyncError('ERR_ADDRESS', 'this device does not listen on any address a joiner could reach');
    if (kind === 'device') await this.exclusive(() => this.ensureKeyring());
    const { invite, secret } = this.book.create({ kind, folders, autoApprove: req.autoApprove ?? false });
    const code = { deviceId: parseDeviceId(this.selfId), secret, addresses: addresses.map((a) => parsePeerAddress(a)) };
    this.host.log.info({ invite: invite.id, kind, autoApprove: invite.autoApprove, folders: folders.length }, 'invite created');
    return { invite, code: formatInviteCode(code), link: inviteLink(code), deviceId: this.selfId, addresses };
  }

  approve(deviceId: string): void {
    const p = this.pending.get(deviceId);
    if (!p) throw new SealsyncError('ERR_DEVICE_UNKNOWN', `no device ${deviceId.slice(0, 100)} is waiting for approval (see \`sealsync device list\`)`);
    p.decide(true);
  }

  deny(deviceId: string): void {
    const p = this.pending.get(deviceId);
    if (!p) throw new SealsyncError('ERR_DEVICE_UNKNOWN', `no device ${deviceId.slice(0, 100)} is waiting for approval`);
    p.decide(false);
  }

  /** An incoming link connection (transport.ts hands it over after TLS). */
  handleConnection(conn: SecureConnection): void {
    if (this.stopped) { conn.socket.destroy(); return; }
    const ch = new LinkChannel(conn);
    this.channels.add(ch);
    void this.serve(ch)
      .catch((err: unknown) => this.host.log.debug({ err: describeError(err), peer: conn.remoteDeviceId.slice(0, 16) }, 'link channel ended'))
      .finally(() => {
        this.channels.delete(ch);
        ch.close();
      });
  }

  private async serve(ch: LinkChannel): Promise<void> {
    const msg = parseLinkMessage(firstMessage, await ch.next({ signal: this.abort.signal }));
    if (msg.t === 'join') await this.serveJoin(ch, msg);
    else await this.serveKeyring(ch, msg.keyring);
  }

  private async serveJoin(ch: LinkChannel, msg: JoinMessage): Promise<void> {
    const joiner = ch.remoteDeviceId;
    const source = parsePeerAddress(ch.conn.address).host;
    const refuse = (reason: RefusalReason, logged: string): void => {
      this.host.log.info({ invite: msg.invite, peer: joiner, source, reason }, logged);
      ch.send({ t: 'refused', reason });
    };
    const limited = this.book.admitAttempt(source);
    if (limited) { refuse('rate-limited', 'join attempt refused: rate limited'); return; }
    const secret = this.book.secretFor(msg.invite);
    if (secret instanceof SealsyncError) { refuse(secret.data?.['reason'] as RefusalReason, 'join attempt refused'); return; }
    const exporter = ch.exporter();
    const ids = [parseDeviceId(this.selfId), parseDeviceId(joiner)] as const;
    if (!verifyInviteProof(secret, exporter, ids[0], ids[1], 'joiner', fromHex(msg.proof))) { refuse('bad-proof', 'join attempt refused: bad proof'); return; }
    // A server must never get the keyring: a device invite is refused before it is used, so its owner can still give it to a device.
    if (msg.as === 'server' && this.book.kindOf(msg.invite) === 'device') { refuse('wrong-kind', 'join attempt refused: a server used a device invite'); return; }
    if (this.file?.keyring.unlinked.includes(joiner)) { refuse('denied', 'join attempt refused: the device was unlinked'); return; }
    if (this.pending.size >= MAX_PENDING_JOINS || this.pending.has(joiner)) { refuse('rate-limited', 'join attempt refused: too many pending'); return; }
    const invite = this.book.consume(msg.invite, joiner);
    ch.send({ t: 'accepted', proof: toHex(inviteProof(secret, exporter, ids[0], ids[1], 'inviter')), approval: invite.autoApprove ? 'auto' : 'pending' });
    const addresses = msg.addresses.flatMap((a) => { try { return [formatPeerAddress(parsePeerAddress(a))]; } catch { return []; } });
    const info: PendingJoin = { id: joiner, name: cleanName(msg.name), address: ch.conn.address, kind: invite.kind, inviteId: invite.id, since: this.host.now() };
    const approved = invite.autoApprove || await this.waitForDecision(ch, info, APPROVAL_WAIT_MS);
    if (approved === null) return;
    if (!approved) { refuse('denied', 'join denied'); return; }
    const entry: KeyringDevice = { id: joiner, name: info.name, addresses: addresses.slice(0, MAX_DEVICE_ADDRESSES) };
    const inviter = { id: this.selfId, name: this.host.deviceName(), addresses: inviteAddresses(this.host.listenAddresses()) };
    if (invite.kind === 'device') {
      const keyring = await this.exclusive(async () => {
        const file = await this.ensureKeyring();
        await this.setKeyring({ ...file.keyring, devices: [...file.keyring.devices.filter((d) => d.id !== joiner), entry], generation: file.keyring.generation + 1 });
        return (this.file as KeyringFile).keyring;
      });
      ch.send({ t: 'approved', kind: 'device', keyring, inviter });
    } else {
      const folders = invite.folders.flatMap((path) => {
        const f = this.host.folders().find((x) => x.path === path);
        return f ? [{ name: folderName(path), key: formatKey(f.keys.type === 'encrypted' ? f.keys : deriveEncrypted(f.keys)) }] : [];
      });
      await this.exclusive(async () => {
        const file = await this.ensureKeyring();
        await this.setKeyring({ ...file.keyring, servers: [...file.keyring.servers.filter((d) => d.id !== joiner), entry], generation: file.keyring.generation + 1 });
      });
      ch.send({ t: 'approved', kind: 'server', folders, inviter });
    }
    this.host.log.info({ peer: joiner, kind: invite.kind }, invite.kind === 'device' ? 'device linked' : 'server invited');
    this.syncSoon(0);
    await ch.next({ timeoutMs: 2000 }).catch(() => undefined);
  }

  /** true/false once decided; null when the joiner went away or the invite ran out first. */
  private waitForDecision(ch: LinkChannel, info: PendingJoin, ms: number): Promise<boolean | null> {
    return new Promise<boolean | null>((resolve) => {
      const settle = (v: boolean | null): void => {
        clearTimeout(timer);
        if (this.pending.get(info.id)?.info === info) this.pending.delete(info.id);
        resolve(v);
      };
      const timer = setTimeout(() => {
        try { ch.send({ t: 'refused', reason: 'timeout' }); } catch { /* gone */ }
        settle(null);
      }, Math.max(0, ms));
      this.pending.set(info.id, { info, decide: (ok) => settle(ok) });
      this.host.log.info({ peer: info.id, name: info.name, kind: info.kind }, 'a device waits for approval: sealsync device approve ID');
      ch.socket.once('close', () => settle(null));
    });
  }

  private async serveKeyring(ch: LinkChannel, theirs: Keyring): Promise<void> {
    if (!this.isLinked(ch.remoteDeviceId) || this.refusedDevices().includes(ch.remoteDeviceId)) {
      ch.send({ t: 'refused', reason: 'not-linked' });
      return;
    }
    ch.send({ t: 'keyring', keyring: (this.file as KeyringFile).keyring });
    await this.exclusive(() => this.mergeIn(theirs, ch.remoteDeviceId));
  }

  // ---- joining -------------------------------------------------------------

  async join(codeText: string, into: string | undefined, opts: JoinOptions = {}): Promise<JoinResult> {
    const as = opts.as ?? 'device';
    const code = parseInviteCode(codeText);
    const inviterId = formatDeviceId(code.deviceId);
    if (inviterId === this.selfId) throw new SealsyncError('ERR_INVITE_CODE', 'this invite code was made by this device');
    if (this.isLinked(inviterId)) throw new SealsyncError('ERR_INVITE_CODE', 'this device is already linked to the inviting device');
    const signal = AbortSignal.any([this.abort.signal, ...(opts.signal ? [opts.signal] : [])]);
    const ch = await this.dialFirst(code.addresses.map((a) => formatPeerAddress(a)), inviterId, signal);
    this.channels.add(ch);
    try {
      const exporter = ch.exporter();
      const ids = [code.deviceId, parseDeviceId(this.selfId)] as const;
      ch.send({
        t: 'join', invite: inviteIdOf(code.secret), proof: toHex(inviteProof(code.secret, exporter, ids[0], ids[1], 'joiner')),
        name: this.host.deviceName(), addresses: this.host.listenAddresses().slice(0, MAX_DEVICE_ADDRESSES), as,
      });
      const answer = parseLinkMessage(joinAnswer, await ch.next({ signal }));
      if (answer.t === 'refused') throw refusalOf(answer.reason);
      if (!verifyInviteProof(code.secret, exporter, ids[0], ids[1], 'inviter', fromHex(answer.proof))) {
        throw new SealsyncError('ERR_INVITE_REFUSED', 'the inviting device could not prove it made this code', { reason: 'bad-proof' });
      }
      const outcome = parseLinkMessage(decision, await ch.next({ timeoutMs: JOINER_WAIT_MS, signal }));
      if (outcome.t === 'refused') throw refusalOf(outcome.reason);
      if (outcome.inviter.id !== inviterId) throw new SealsyncError('ERR_PROTOCOL', 'the inviter named another device');
      const root = into ?? this.file?.local.into ?? homedir();
      // Defence in depth: whatever the inviter decided, a server takes no keyring.
      if (outcome.kind === 'device' && as === 'server') {
        throw new SealsyncError('ERR_PROTOCOL', 'the inviting device offered a server its keyring (every key): refused, nothing taken');
      }
      if (outcome.kind === 'device') {
        const folders = await this.exclusive(async () => {
          const mine = this.file?.keyring ?? emptyKeyring(this.selfEntry());
          const file: KeyringFile = { keyring: mine, local: { into: root, declined: this.file?.local.declined ?? [] } };
          this.file = file;
          return this.mergeIn(outcome.keyring, inviterId, true);
        });
        this.host.log.info({ inviter: inviterId, folders: folders.length }, 'linked to a device');
        this.syncSoon(0);
        return { kind: 'device', inviter: { id: inviterId, name: outcome.inviter.name }, folders };
      }
      // A server takes encrypted keys only, whatever the inviter sends.
      if (outcome.folders.some((f) => { try { return checkKeyText(f.key) !== 'encrypted'; } catch { return true; } })) {
        throw new SealsyncError('ERR_PROTOCOL', 'the inviting device offered a server more than encrypted keys: refused');
      }
      const folders = await this.exclusive(() => this.addFolders(outcome.folders, root));
      await this.host.addPinnedPeers([{ address: ch.conn.address, deviceId: inviterId }]);
      this.host.log.info({ inviter: inviterId, folders: folders.length }, 'joined as an encrypted server');
      return { kind: 'server', inviter: { id: inviterId, name: outcome.inviter.name }, folders };
    } finally {
      this.channels.delete(ch);
      ch.close();
    }
  }

  private async dialFirst(addresses: readonly string[], deviceId: string, signal: AbortSignal): Promise<LinkChannel> {
    let last: unknown = new SealsyncError('ERR_INVITE_CODE', 'the invite code carries no address');
    for (const address of addresses) {
      try {
        return await dialLink(address, { identity: this.host.identity, deviceId, signal, timeoutMs: LINK_DIAL_TIMEOUT_MS });
      } catch (err) {
        if (isSealsyncError(err, 'ERR_ABORTED')) throw err;
        last = err;
      }
    }
    throw new SealsyncError('ERR_CONNECTION_CLOSED', `cannot reach the inviting device: ${describeError(last)}`);
  }

  // ---- the keyring ---------------------------------------------------------

  /** `unlink`: refuse the device from now on and rotate the keyring. */
  unlink(deviceId: string): Promise<void> {
    return this.exclusive(async () => {
      const k = this.file?.keyring;
      const id = formatDeviceId(parseDeviceId(deviceId));
      if (!k || (!k.devices.some((d) => d.id === id) && !k.servers.some((d) => d.id === id))) {
        throw new SealsyncError('ERR_DEVICE_UNKNOWN', `${deviceId.slice(0, 100)} is not a linked device or server`);
      }
      if (id === this.selfId) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a device cannot unlink itself');
      await this.setKeyring({
        ...k, epoch: k.epoch + 1, secret: newKeyringSecret(), generation: k.generation + 1,
        devices: k.devices.filter((d) => d.id !== id), servers: k.servers.filter((d) => d.id !== id), unlinked: [...k.unlinked, id],
      });
      this.host.log.info({ peer: id }, 'device unlinked: refused from now on, keyring rotated');
      this.syncSoon(0);
    });
  }

  /** A folder was added here: linked devices get it too. */
  folderAdded(path: string, keys: FolderKeys): void {
    if (!this.file) return;
    void this.exclusive(async () => {
      const file = this.file as KeyringFile;
      const id = folderIdText(keys.folderId);
      const declined = file.local.declined.filter((d) => d !== id);
      const folders = [...file.keyring.folders.filter((f) => folderIdOfKey(f.key) !== id), { name: folderName(path), key: formatKey(keys) }];
      const merged = mergeKeyrings(file.keyring, { ...file.keyring, folders });
      this.file = { ...file, local: { ...file.local, declined } };
      if (merged.changed) await this.setKeyring(merged.keyring);
      else await saveKeyringFile(this.host.keyringPath, this.file);
      this.syncSoon(0);
    }).catch((err: unknown) => this.host.log.warn({ err }, 'keyring update failed'));
  }

  /** A folder was removed here: the keyring must not bring it back to this device. */
  folderRemoved(keys: FolderKeys): void {
    if (!this.file) return;
    void this.exclusive(async () => {
      const file = this.file as KeyringFile;
      const id = folderIdText(keys.folderId);
      if (file.local.declined.includes(id)) return;
      this.file = { ...file, local: { ...file.local, declined: [...file.local.declined, id] } };
      await saveKeyringFile(this.host.keyringPath, this.file);
    }).catch((err: unknown) => this.host.log.warn({ err }, 'keyring update failed'));
  }

  /** A sync session with a device opened: if it is linked, exchange keyrings now. */
  sessionOpened(deviceId: string): void {
    if (this.isLinked(deviceId)) this.syncSoon(0);
  }

  private syncSoon(delayMs: number): void {
    if (this.stopped || !this.file || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = null;
      if (this.syncing) { this.syncSoon(500); return; }
      this.syncing = this.syncAll().finally(() => { this.syncing = null; });
    }, delayMs);
    this.pushTimer.unref();
  }

  /** One keyring exchange with every linked device (each address until one answers). */
  private async syncAll(): Promise<void> {
    const k = this.file?.keyring;
    if (!k) return;
    await Promise.all(k.devices.filter((d) => d.id !== this.selfId).map(async (d) => {
      for (const address of d.addresses) {
        if (this.stopped) return;
        try {
          await this.syncWith(address, d.id);
          return;
        } catch (err) {
          this.host.log.debug({ peer: d.id.slice(0, 16), address, err: describeError(err) }, 'keyring exchange failed');
        }
      }
    }));
  }

  private async syncWith(address: string, deviceId: string): Promise<void> {
    const ch = await dialLink(address, { identity: this.host.identity, deviceId, signal: this.abort.signal, timeoutMs: LINK_DIAL_TIMEOUT_MS });
    this.channels.add(ch);
    try {
      ch.send({ t: 'keyring', keyring: (this.file as KeyringFile).keyring });
      const answer = parseLinkMessage(keyringAnswer, await ch.next({ signal: this.abort.signal }));
      if (answer.t === 'refused') throw refusalOf(answer.reason);
      await this.exclusive(() => this.mergeIn(answer.keyring, deviceId));
    } finally {
      this.channels.delete(ch);
      ch.close();
    }
  }

  /**
   * Merges a keyring from a linked device (or the inviter when `joining`) and
   * applies it: new folders, targets, refusals. Returns the folders added.
   */
  private async mergeIn(theirs: Keyring, from: string, joining = false): Promise<{ path: string; type: string }[]> {
    const file = this.file;
    if (!file) return [];
    const checked = checkKeyring(theirs);
    if (typeof checked === 'string') throw new SealsyncError('ERR_PROTOCOL', `bad keyring from ${from.slice(0, 16)}: ${checked}`);
    // A device that (for whoever sent this) was unlinked must not be told otherwise by a merge.
    if (checked.unlinked.includes(this.selfId)) {
      this.host.log.warn({ peer: from }, 'a linked device says this device was unlinked: keyring not taken');
      return [];
    }
    const merged = mergeKeyrings(file.keyring, checked);
    let keyring = merged.keyring;
    if (joining && !keyring.devices.some((d) => d.id === this.selfId)) keyring = { ...keyring, devices: [...keyring.devices, this.selfEntry()] };
    if (merged.changed || joining) await this.setKeyring(keyring);
    return this.applyKeyring();
  }

  private async setKeyring(keyring: Keyring): Promise<void> {
    const file = this.file ?? { keyring, local: { into: homedir(), declined: [] } };
    this.file = { ...file, keyring };
    await saveKeyringFile(this.host.keyringPath, this.file);
    this.host.targetsChanged();
  }

  /** Adds every keyring folder this device lacks (and did not remove) under `into`. */
  private async applyKeyring(): Promise<{ path: string; type: string }[]> {
    const file = this.file;
    if (!file) return [];
    this.host.targetsChanged();
    const have = new Set(this.host.folders().map((f) => folderIdText(f.keys.folderId)));
    const missing = file.keyring.folders.filter((f) => {
      const id = folderIdOfKey(f.key);
      return !have.has(id) && !file.local.declined.includes(id);
    });
    return this.addFolders(missing, file.local.into);
  }

  private async addFolders(folders: readonly { name: string; key: string }[], root: string): Promise<{ path: string; type: string }[]> {
    const added: { path: string; type: string }[] = [];
    for (const f of folders) {
      if (this.stopped) break;
      try {
        const keys = parseKey(f.key);
        const path = await this.freePath(root, f.name);
        await mkdir(path, { recursive: true, mode: 0o700 });
        await this.host.addFolder(path, f.key);
        added.push({ path, type: keyTypeName(keys.type) });
      } catch (err) {
        this.host.log.warn({ folder: f.name, err: describeError(err) }, 'a folder from the keyring could not be added');
      }
    }
    return added;
  }

  /** `root/name`, or `root/name (2)`… when that is another folder or a non-empty directory. */
  private async freePath(root: string, name: string): Promise<string> {
    const taken = new Set(this.host.folders().map((f) => f.path));
    for (let i = 1; i <= MAX_NAME_SUFFIX; i++) {
      const path = join(root, i === 1 ? name : `${name} (${i})`);
      if (taken.has(path)) continue;
      const entries = await readdir(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : null));
      if (entries !== null && entries.length === 0) return path;
    }
    throw new SealsyncError('ERR_FOLDER_EXISTS', `no free place for folder ${name} under ${root}`);
  }

  /** The keyring, created on first need with this device and its folders. */
  private async ensureKeyring(): Promise<KeyringFile> {
    if (this.file) return this.file;
    const keyring: Keyring = {
      ...emptyKeyring(this.selfEntry()),
      folders: this.host.folders().map((f) => ({ name: folderName(f.path), key: formatKey(f.keys) })),
    };
    this.file = { keyring, local: { into: homedir(), declined: [] } };
    await saveKeyringFile(this.host.keyringPath, this.file);
    return this.file;
  }

  private selfEntry(): KeyringDevice {
    return { id: this.selfId, name: cleanName(this.host.deviceName()), addresses: this.host.listenAddresses().slice(0, MAX_DEVICE_ADDRESSES) };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn, fn);
    this.mutex = run.catch(() => undefined);
    return run;
  }
}

function refusalOf(reason: string): SealsyncError {
  if (reason === 'not-linked') return new SealsyncError('ERR_INVITE_REFUSED', 'the other device does not list this one as linked', { reason });
  return refusal(reason as RefusalReason);
}

function cleanName(name: string): string {
  return name.replace(/[\p{Cc}]/gu, '').trim().slice(0, 64);
}

/** The listen addresses worth putting in a code: reachable ones first, loopback last, at most MAX_DEVICE_ADDRESSES. */
export function inviteAddresses(listen: readonly string[]): string[] {
  const rank = (a: string): number => {
    const { host } = parsePeerAddress(a);
    if (host === '127.0.0.1' || host === '::1' || host.startsWith('127.')) return 3;
    if (host.startsWith('fe80:')) return 2;
    return host.includes(':') ? 1 : 0;
  };
  const valid = listen.filter((a) => { try { parsePeerAddress(a); return true; } catch { return false; } });
  return [...new Set(valid)].sort((a, b) => rank(a) - rank(b)).slice(0, MAX_DEVICE_ADDRESSES);
}

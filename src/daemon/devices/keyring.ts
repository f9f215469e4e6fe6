/**
 * The keyring a person's linked devices share (docs/security.md, "Linked
 * devices"): every folder key they hold with its type, the linked devices
 * and the encrypted servers they know (by device id, addresses as hints),
 * and the ids of unlinked devices, which every linked device refuses.
 *
 * How it is kept in sync: linked devices exchange their whole keyring over
 * the pinned link channel (link-service.ts) and each merges what it gets
 * with mergeKeyrings(), which is commutative and idempotent, so the order
 * of exchanges does not matter and nothing added on one device is lost:
 *   - folders: the union by folder id, keeping the strongest key (W > R > E);
 *   - devices and servers: the union by id, minus every unlinked id;
 *   - unlinked: the union (an unlink can never be undone by a merge);
 *   - secret: the one of the higher epoch (unlink rotates it: epoch + 1);
 *     equal epochs keep the larger secret, so both sides agree.
 * `generation` only counts changes, for display.
 *
 * On disk: keyring.json in the home (0600, atomic), with `local` settings
 * that never travel (where joined folders go, folders removed here).
 */
import { MAX_INVITE_ADDRESSES } from '../../crypto/invite.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { checkKeyText, folderIdText, formatKey, parseKey } from '../../crypto/key-text.js';
import type { FolderKeys, KeyType } from '../../crypto/keys.js';
import { MAX_DEVICE_NAME_LENGTH } from '../../crypto/device.js';
import { SealsyncError, describeError } from '../../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { deviceIdSchema, MAX_CONFIG_KEY_TEXT_LENGTH, MAX_FOLDERS, MAX_PATH_LENGTH, peerAddressSchema } from '../config-schema.js';

export const KEYRING_FORMAT_VERSION = 1;
export const MAX_LINKED_DEVICES = 64;
export const MAX_SERVERS = 64;
export const MAX_UNLINKED = 4096;
/** A device's addresses, as many as an invite code carries (one limit for both). */
export const MAX_DEVICE_ADDRESSES = MAX_INVITE_ADDRESSES;
export const MAX_FOLDER_NAME_LENGTH = 255;
export const KEYRING_SECRET_BYTES = 32;

// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f/\\]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f/\\]/g;

/** The name a folder travels under: its directory's name, made one safe path segment. */
export function folderName(path: string): string {
  const name = basename(path).replace(UNSAFE_NAME_CHARS, '').trim().slice(0, MAX_FOLDER_NAME_LENGTH);
  return name === '' || name === '.' || name === '..' ? 'folder' : name;
}

/** A folder's name: one path segment, so it can never climb out of the directory it lands in. */
export const folderNameSchema = z.string().min(1).max(MAX_FOLDER_NAME_LENGTH)
  .refine((s) => !UNSAFE_NAME.test(s) && s !== '.' && s !== '..' && s.trim() === s, { message: 'must be one plain path segment' });

const deviceEntrySchema = z.object({
  id: deviceIdSchema,
  name: z.string().max(MAX_DEVICE_NAME_LENGTH).refine((s) => !/[\p{Cc}]/u.test(s), { message: 'no control characters' }),
  addresses: z.array(peerAddressSchema).max(MAX_DEVICE_ADDRESSES),
}).strict();

const folderEntrySchema = z.object({
  name: folderNameSchema,
  key: z.string().min(1).max(MAX_CONFIG_KEY_TEXT_LENGTH).superRefine((text, ctx) => {
    try { checkKeyText(text); } catch (err) { ctx.addIssue({ code: z.ZodIssueCode.custom, message: describeError(err) }); }
  }),
}).strict();

export const keyringSchema = z.object({
  version: z.literal(KEYRING_FORMAT_VERSION),
  epoch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  generation: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  secret: z.string().regex(/^[0-9a-f]{64}$/),
  devices: z.array(deviceEntrySchema).max(MAX_LINKED_DEVICES),
  servers: z.array(deviceEntrySchema).max(MAX_SERVERS),
  unlinked: z.array(deviceIdSchema).max(MAX_UNLINKED),
  folders: z.array(folderEntrySchema).max(MAX_FOLDERS),
}).strict();

const keyringFileSchema = z.object({
  keyring: keyringSchema,
  local: z.object({
    /** Where folders received from linked devices land (each under its own name). */
    into: z.string().min(1).max(MAX_PATH_LENGTH),
    /** Folder ids (text) removed on this device: the keyring does not bring them back. */
    declined: z.array(z.string().max(100)).max(MAX_FOLDERS),
  }).strict(),
}).strict();

export type Keyring = z.infer<typeof keyringSchema>;
export type KeyringDevice = z.infer<typeof deviceEntrySchema>;
export type KeyringFolder = z.infer<typeof folderEntrySchema>;
export type KeyringFile = z.infer<typeof keyringFileSchema>;

export function newKeyringSecret(): string {
  return randomBytes(KEYRING_SECRET_BYTES).toString('hex');
}

export function emptyKeyring(self: KeyringDevice): Keyring {
  return { version: KEYRING_FORMAT_VERSION, epoch: 0, generation: 0, secret: newKeyringSecret(), devices: [self], servers: [], unlinked: [], folders: [] };
}

/** Validates a keyring from a peer or a file; ERR_PROTOCOL-free: callers decide the code. */
export function checkKeyring(value: unknown): Keyring | string {
  const r = keyringSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  return `${issue?.path.join('.') || 'keyring'}: ${issue?.message ?? 'invalid'}`;
}

const TYPE_RANK: Record<KeyType, number> = { encrypted: 0, ro: 1, rw: 2 };

/** The folder id (text) of a keyring entry's key. */
export function folderIdOfKey(key: string): string {
  return folderIdText(parseKey(key).folderId);
}

function mergeFolders(a: readonly KeyringFolder[], b: readonly KeyringFolder[]): KeyringFolder[] {
  const byId = new Map<string, { entry: KeyringFolder; keys: FolderKeys }>();
  for (const entry of [...a, ...b]) {
    const keys = parseKey(entry.key);
    const id = folderIdText(keys.folderId);
    const have = byId.get(id);
    if (!have || TYPE_RANK[keys.type] > TYPE_RANK[have.keys.type]) {
      byId.set(id, { entry: { name: have?.entry.name ?? entry.name, key: formatKey(keys) }, keys });
    }
  }
  return [...byId.values()].map((v) => v.entry).slice(0, MAX_FOLDERS);
}

function mergeDevices(a: readonly KeyringDevice[], b: readonly KeyringDevice[], unlinked: ReadonlySet<string>, max: number): KeyringDevice[] {
  const byId = new Map<string, KeyringDevice>();
  for (const d of [...a, ...b]) {
    if (unlinked.has(d.id)) continue;
    const have = byId.get(d.id);
    // Addresses are hints: keep both sides', newest first.
    byId.set(d.id, have ? { id: d.id, name: d.name || have.name, addresses: [...new Set([...d.addresses, ...have.addresses])].slice(0, MAX_DEVICE_ADDRESSES) } : d);
  }
  return [...byId.values()].slice(0, max);
}

/** Ours merged with theirs (see the module header); `changed` is false when ours already held everything. */
export function mergeKeyrings(ours: Keyring, theirs: Keyring): { keyring: Keyring; changed: boolean } {
  const unlinkedSet = new Set([...ours.unlinked, ...theirs.unlinked]);
  const unlinked = [...unlinkedSet].slice(0, MAX_UNLINKED);
  const [epoch, secret] = theirs.epoch > ours.epoch || (theirs.epoch === ours.epoch && theirs.secret > ours.secret)
    ? [theirs.epoch, theirs.secret] : [ours.epoch, ours.secret];
  const merged: Keyring = {
    version: KEYRING_FORMAT_VERSION,
    epoch,
    secret,
    generation: ours.generation,
    devices: mergeDevices(ours.devices, theirs.devices, unlinkedSet, MAX_LINKED_DEVICES),
    servers: mergeDevices(ours.servers, theirs.servers, unlinkedSet, MAX_SERVERS),
    unlinked,
    folders: mergeFolders(ours.folders, theirs.folders),
  };
  const changed = !sameContent(ours, merged);
  return { keyring: changed ? { ...merged, generation: Math.max(ours.generation, theirs.generation) + 1 } : ours, changed };
}

function sameContent(a: Keyring, b: Keyring): boolean {
  const strip = (k: Keyring) => JSON.stringify({ ...k, generation: 0 });
  return strip(a) === strip(b);
}

export async function loadKeyringFile(path: string): Promise<KeyringFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SealsyncError('ERR_KEYRING_INVALID', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { throw new SealsyncError('ERR_KEYRING_INVALID', `${path}: not valid JSON`); }
  const r = keyringFileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new SealsyncError('ERR_KEYRING_INVALID', `${path}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export async function saveKeyringFile(path: string, file: KeyringFile): Promise<void> {
  const checked = keyringFileSchema.parse(file);
  await writeFileAtomic(path, `${JSON.stringify(checked, null, 2)}\n`, 0o600);
}

/**
 * The messages of the device-linking channel (src/net/link-channel.ts frames
 * them), validated here with strict schemas: whatever a peer sends is hostile
 * until it parses. Layout in docs/protocol.md, "Device linking".
 *
 *   joiner  -> inviter  join      { invite, proof, name, addresses, as: 'device' | 'server' }
 *   inviter -> joiner   refused   { reason }
 *                       accepted  { proof, approval: 'auto' | 'pending' }
 *                       approved  { kind: 'device', keyring, inviter } | { kind: 'server', folders, inviter }
 *   linked  <-> linked  keyring   { keyring }   (each side sends its own, then merges the other's)
 */
import { z } from 'zod';
import { INVITE_ID_BYTES, INVITE_PROOF_BYTES } from '../../crypto/invite.js';
import { SealsyncError } from '../../errors.js';
import { MAX_DEVICE_NAME_LENGTH } from '../../crypto/device.js';
import { MAX_ADDRESS_LENGTH } from '../../net/peer-address.js';
import { keyringSchema, folderNameSchema, MAX_DEVICE_ADDRESSES } from './keyring.js';
import { MAX_CONFIG_KEY_TEXT_LENGTH, MAX_FOLDERS } from '../config-schema.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
const name = z.string().max(MAX_DEVICE_NAME_LENGTH);
const addresses = z.array(z.string().max(MAX_ADDRESS_LENGTH)).max(MAX_DEVICE_ADDRESSES);
const inviter = z.object({ id: z.string().max(100), name, addresses }).strict();

export const refusalReasonSchema = z.enum(['unknown', 'expired', 'used', 'revoked', 'bad-proof', 'rate-limited', 'denied', 'timeout', 'not-linked', 'wrong-kind']);
/** What a joiner asks to become: a server must never be handed a keyring. */
export const joinAsSchema = z.enum(['device', 'server']);

export const joinMessage = z.object({ t: z.literal('join'), invite: hex(INVITE_ID_BYTES), proof: hex(INVITE_PROOF_BYTES), name, addresses, as: joinAsSchema }).strict();
export const keyringMessage = z.object({ t: z.literal('keyring'), keyring: keyringSchema }).strict();
export const refusedMessage = z.object({ t: z.literal('refused'), reason: refusalReasonSchema }).strict();
export const acceptedMessage = z.object({ t: z.literal('accepted'), proof: hex(INVITE_PROOF_BYTES), approval: z.enum(['auto', 'pending']) }).strict();
export const approvedMessage = z.discriminatedUnion('kind', [
  z.object({ t: z.literal('approved'), kind: z.literal('device'), keyring: keyringSchema, inviter }).strict(),
  z.object({
    t: z.literal('approved'), kind: z.literal('server'), inviter,
    folders: z.array(z.object({ name: folderNameSchema, key: z.string().min(1).max(MAX_CONFIG_KEY_TEXT_LENGTH) }).strict()).max(MAX_FOLDERS),
  }).strict(),
]);

export const firstMessage = z.union([joinMessage, keyringMessage]);
export const joinAnswer = z.union([refusedMessage, acceptedMessage]);
export const decision = z.union([refusedMessage, approvedMessage]);
export const keyringAnswer = z.union([refusedMessage, keyringMessage]);

export type JoinMessage = z.infer<typeof joinMessage>;
export type JoinAs = z.infer<typeof joinAsSchema>;
export type ApprovedMessage = z.infer<typeof approvedMessage>;

/** Parses a message with `schema`, or ERR_PROTOCOL in one line. */
export function parseLinkMessage<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new SealsyncError('ERR_PROTOCOL', `bad link message: ${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`.slice(0, 200));
}

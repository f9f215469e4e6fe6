/**
 * LAN discovery announcements (docs/security.md, "LAN discovery"). Pure.
 *
 * For each secret a device holds (every folder's access secret A, which
 * encrypted servers hold too, and the keyring secret of linked devices) and
 * each period p = floor(now / DISCOVERY_PERIOD_MS):
 *   tag = HKDF(secret, "sealsync/v1/discovery-tag" || u64 p)[16]
 *   key = HKDF(secret, "sealsync/v1/discovery-key" || u64 p)[32]
 *   entry = tag | nonce[12] | AES-256-GCM(key, nonce, deviceId[32] | u16 port, aad = tag)
 * A packet is ANNOUNCE_ENTRIES entries, unused ones random bytes of the same
 * length, so a packet says neither which folders nor how many. Nothing in it
 * is constant across periods: the tags change with p, the rest is random or
 * ciphertext under a fresh nonce. Within one period a tag repeats (so a
 * device that holds the secret can look it up); an observer can link
 * announcements within a period, never across.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { concatBytes, utf8 } from './bytes.js';
import { DEVICE_ID_BYTES } from './device-id.js';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from './sealed-block.js';

/** 15 minutes: an observer can follow a device for at most this long. */
export const DISCOVERY_PERIOD_MS = 15 * 60_000;
export const DISCOVERY_TAG_BYTES = 16;
const PLAIN_BYTES = DEVICE_ID_BYTES + 2;
export const ANNOUNCE_ENTRY_BYTES = DISCOVERY_TAG_BYTES + GCM_NONCE_BYTES + PLAIN_BYTES + GCM_TAG_BYTES;
/** Entries per packet (real and filler): 624 bytes, well under any MTU. */
export const ANNOUNCE_ENTRIES = 8;
export const ANNOUNCE_PACKET_BYTES = ANNOUNCE_ENTRIES * ANNOUNCE_ENTRY_BYTES;
const TAG_INFO = utf8.encode('sealsync/v1/discovery-tag');
const KEY_INFO = utf8.encode('sealsync/v1/discovery-key');

export function discoveryPeriod(nowMs: number, periodMs = DISCOVERY_PERIOD_MS): number {
  return Math.floor(nowMs / periodMs);
}

function periodBytes(period: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(period));
  return b;
}

function derive(secret: Uint8Array, info: Uint8Array, period: number, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), concatBytes([info, periodBytes(period)]), length));
}

export interface PeriodKeys {
  readonly tag: Uint8Array;
  readonly key: Uint8Array;
}

export function periodKeys(secret: Uint8Array, period: number): PeriodKeys {
  return { tag: derive(secret, TAG_INFO, period, DISCOVERY_TAG_BYTES), key: derive(secret, KEY_INFO, period, 32) };
}

/** One entry announcing `deviceId` (32 bytes) listening on `port`, for holders of the secret behind `keys`. */
export function sealAnnouncementEntry(keys: PeriodKeys, deviceId: Uint8Array, port: number): Uint8Array {
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const plain = concatBytes([deviceId, Uint8Array.of(port >> 8, port & 0xff)]);
  const cipher = createCipheriv('aes-256-gcm', keys.key, nonce);
  cipher.setAAD(keys.tag);
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return concatBytes([keys.tag, nonce, body]);
}

/** Packets of ANNOUNCE_ENTRIES entries each, filler random, entries in random places. */
export function announcementPackets(entries: readonly Uint8Array[]): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (let i = 0; i < Math.max(1, entries.length); i += ANNOUNCE_ENTRIES) {
    const slots: Uint8Array[] = entries.slice(i, i + ANNOUNCE_ENTRIES).map((e) => e);
    while (slots.length < ANNOUNCE_ENTRIES) slots.push(new Uint8Array(randomBytes(ANNOUNCE_ENTRY_BYTES)));
    for (let j = slots.length - 1; j > 0; j--) {
      const k = randomBytes(1)[0] as number % (j + 1);
      [slots[j], slots[k]] = [slots[k] as Uint8Array, slots[j] as Uint8Array];
    }
    packets.push(concatBytes(slots));
  }
  return packets;
}

/** Opens one entry with the keys its tag matched; null when it does not authenticate. */
export function openAnnouncementEntry(keys: PeriodKeys, entry: Uint8Array): { deviceId: Uint8Array; port: number } | null {
  if (entry.byteLength !== ANNOUNCE_ENTRY_BYTES) return null;
  const nonce = entry.subarray(DISCOVERY_TAG_BYTES, DISCOVERY_TAG_BYTES + GCM_NONCE_BYTES);
  const body = entry.subarray(DISCOVERY_TAG_BYTES + GCM_NONCE_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.key, nonce);
    decipher.setAAD(entry.subarray(0, DISCOVERY_TAG_BYTES));
    decipher.setAuthTag(body.subarray(PLAIN_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(0, PLAIN_BYTES)), decipher.final()]);
    const port = ((plain[DEVICE_ID_BYTES] as number) << 8) | (plain[DEVICE_ID_BYTES + 1] as number);
    if (port === 0) return null;
    return { deviceId: new Uint8Array(plain.subarray(0, DEVICE_ID_BYTES)), port };
  } catch {
    return null;
  }
}

/**
 * What LAN discovery announces for this device: one secret per folder (its
 * access secret, which every key type holds, so encrypted servers take part)
 * and the keyring secret of linked devices, so they find each other even
 * before they share a folder.
 */
import type { FolderKeys } from '../../crypto/keys.js';
import { parsePeerAddress } from '../../net/peer-address.js';

/** Devices found on the LAN that are remembered as dial targets (oldest dropped first). */
export const MAX_DISCOVERED_DEVICES = 256;

export function discoverySecrets(folders: readonly FolderKeys[], keyringSecret: Uint8Array | null): Uint8Array[] {
  const out = folders.map((k) => k.accessSecret);
  if (keyringSecret) out.push(keyringSecret);
  return out;
}

/** The port of the first listen address (0 when not listening). */
export function listenPort(addresses: readonly string[]): number {
  const first = addresses[0];
  if (first === undefined) return 0;
  try { return parsePeerAddress(first).port; } catch { return 0; }
}

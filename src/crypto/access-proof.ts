/**
 * Folder access proof (DESIGN.md, "Joining a folder"). After the TLS 1.3
 * handshake each side sends
 *   HMAC-SHA256(A, "sealsync/v1/access-proof\0" || direction byte || folder id || exporter)
 * where the exporter is keying material exported from this TLS session, so a
 * proof cannot be replayed on another connection, and the direction byte
 * (1 = client, 2 = server) stops a peer from reflecting the other's proof.
 *
 * Format v2 adds a read proof, the same construction under the read proof key
 * (HKDF(R, "sealsync/v2/read-proof"), keys.ts) with its own label:
 *   HMAC-SHA256(read proof key, "sealsync/v2/read-proof\0" || direction byte || folder id || exporter)
 * A full peer (holding R) sends it next to its access proof; a peer that
 * verifies it knows the other side can read the folder anyway, so blocks may
 * travel between them as plaintext inside TLS (docs/crypto.md §3.1). An
 * encrypted peer can neither make nor check one.
 */
import { createHmac } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { bytesEqual, utf8 } from './bytes.js';

export const ACCESS_PROOF_BYTES = 32;
export const MIN_EXPORTER_BYTES = 32;
const LABEL = utf8.encode('sealsync/v1/access-proof\0');
const READ_LABEL = utf8.encode('sealsync/v2/read-proof\0');
const DIRECTION_BYTE = { client: 1, server: 2 } as const;

export function accessProof(accessSecret: Uint8Array, exporter: Uint8Array, folderId: Uint8Array, direction: 'client' | 'server'): Uint8Array {
  return sessionProof(LABEL, accessSecret, exporter, folderId, direction);
}

/** The read proof (v2): this device holds R for the folder; bound to the TLS session and direction. */
export function readProof(readProofKey: Uint8Array, exporter: Uint8Array, folderId: Uint8Array, direction: 'client' | 'server'): Uint8Array {
  return sessionProof(READ_LABEL, readProofKey, exporter, folderId, direction);
}

/** Constant-time check of a read proof received from the peer in `direction`. */
export function verifyReadProof(
  readProofKey: Uint8Array,
  exporter: Uint8Array,
  folderId: Uint8Array,
  direction: 'client' | 'server',
  proof: Uint8Array,
): boolean {
  return bytesEqual(readProof(readProofKey, exporter, folderId, direction), proof);
}

function sessionProof(label: Uint8Array, secret: Uint8Array, exporter: Uint8Array, folderId: Uint8Array, direction: 'client' | 'server'): Uint8Array {
  if (exporter.byteLength < MIN_EXPORTER_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'TLS exporter value is too short');
  const d = DIRECTION_BYTE[direction];
  if (d === undefined) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'direction must be client or server');
  return new Uint8Array(
    createHmac('sha256', secret).update(label).update(Uint8Array.of(d)).update(folderId).update(exporter).digest(),
  );
}

/** Constant-time check of a proof received from the peer in `direction`. */
export function verifyAccessProof(
  accessSecret: Uint8Array,
  exporter: Uint8Array,
  folderId: Uint8Array,
  direction: 'client' | 'server',
  proof: Uint8Array,
): boolean {
  return bytesEqual(accessProof(accessSecret, exporter, folderId, direction), proof);
}

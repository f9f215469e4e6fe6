/**
 * Progress: how far the sender is with one joined folder, as its own status
 * counts it (global files and bytes it knows of, and what it still needs of
 * them). The receiver shows it per device and folder ("desk: 97 %, 3 files
 * to go"), as Syncthing shows a remote device's completion. It is the
 * sender's word about itself: shown, never acted on, so a peer that lies
 * fools only the display of its own progress.
 *
 *   Progress  folderId[32] | u64 globalFiles | u64 globalBytes | u64 needFiles | u64 needBytes
 *
 * Decoding is strict (exact length, safe integers, needs not above the
 * totals) or ERR_PROTOCOL, as every message in messages.ts.
 */
import { FOLDER_ID_BYTES } from '../crypto/keys.js';
import { ByteReader, ByteWriter, protocolError } from './byte-codec.js';

export interface Progress {
  readonly type: 'progress';
  readonly folderId: Uint8Array;
  readonly globalFiles: number;
  readonly globalBytes: number;
  readonly needFiles: number;
  readonly needBytes: number;
}

/** The counts a Progress carries. */
export type ProgressCounts = Omit<Progress, 'type' | 'folderId'>;

export function encodeProgress(m: Omit<Progress, 'type'>): Buffer {
  return new ByteWriter()
    .fixed(m.folderId, FOLDER_ID_BYTES)
    .u64(m.globalFiles)
    .u64(m.globalBytes)
    .u64(m.needFiles)
    .u64(m.needBytes)
    .finish();
}

export function decodeProgress(payload: Uint8Array): Progress {
  const r = new ByteReader(payload, 'Progress');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const globalFiles = r.u64();
  const globalBytes = r.u64();
  const needFiles = r.u64();
  const needBytes = r.u64();
  r.end();
  if (needFiles > globalFiles || needBytes > globalBytes) throw protocolError('Progress: needs more than the folder holds');
  return { type: 'progress', folderId, globalFiles, globalBytes, needFiles, needBytes };
}

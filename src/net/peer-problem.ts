/**
 * Why a dial failed, in the words status uses (status-schema.ts,
 * peerProblemReasonSchema): refused, unreachable, tls, protocol or other.
 * transport.ts tags its errors with the OS error code (`errno`) and the stage
 * the dial reached (`stage`: the TCP connect, or the TLS handshake after it).
 */
import { isSealsyncError } from '../errors.js';

export type DialFailureReason = 'refused' | 'unreachable' | 'tls' | 'wrong-device' | 'protocol' | 'other';

/** OS error codes that mean "no way to that host" (no route, no such name, no answer). */
const UNREACHABLE_ERRNOS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

export function dialFailureReason(err: unknown): DialFailureReason {
  // A certificate that is not the pinned device's: refused, whatever else it says.
  if (isSealsyncError(err, 'ERR_PEER_IDENTITY')) return typeof err.data?.['expected'] === 'string' ? 'wrong-device' : 'tls';
  if (isSealsyncError(err, 'ERR_PROTOCOL') || isSealsyncError(err, 'ERR_ACCESS_PROOF') || isSealsyncError(err, 'ERR_FRAME_TOO_LARGE')) return 'protocol';
  if (isSealsyncError(err, 'ERR_CONNECTION_CLOSED') || isSealsyncError(err, 'ERR_TIMEOUT')) {
    const data = err.data ?? {};
    const errno = typeof data['errno'] === 'string' ? data['errno'] : null;
    if (errno === 'ECONNREFUSED') return 'refused';
    if (errno !== null && UNREACHABLE_ERRNOS.has(errno)) return 'unreachable';
    // Connected, then closed or silent before TLS finished: a TLS failure (or not a sealsync peer).
    if (data['stage'] === 'tls') return 'tls';
    if (data['stage'] === 'connect') return 'unreachable';
  }
  return 'other';
}

/**
 * Listen and peer addresses for config and the daemon, on top of the net
 * layer's parser (src/net/peer-address.ts): `HOST:PORT` for listening,
 * `tcp://HOST:PORT` for peers, IPv6 in brackets.
 */
import { looksLikeKeyText } from '../crypto/key-text.js';
import { SealsyncError } from '../errors.js';
import {
  formatPeerAddress as formatNetAddress,
  parseListenAddress,
  parsePeerAddress as parseNetPeerAddress,
  parsePeerSpec as parseNetPeerSpec,
  type PeerAddress,
  type PeerSpec,
} from '../net/peer-address.js';

export type HostPort = PeerAddress;

/**
 * A folder key pasted where an address belongs (`peer add W…`) is refused in
 * one line that does not repeat it: the address parser quotes what it got,
 * and a key in an error ends up in terminals, logs and bug reports.
 */
export function refuseKeyAsAddress(text: unknown): void {
  if (looksLikeKeyText(text)) {
    throw new SealsyncError('ERR_ADDRESS', 'that looks like a folder key, not a peer address (tcp://HOST:PORT); to join a folder use `sealsync folder add PATH --key -` (the key is read from stdin)');
  }
}

/** Hosts that mean "this machine only": where the dashboard and the metrics endpoint may listen without more. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);

/** Parses `HOST:PORT`; `allowZero` accepts port 0 ("pick one"). */
export function parseHostPort(text: string, opts: { allowZero?: boolean } = {}): HostPort {
  refuseKeyAsAddress(text);
  const hp = parseListenAddress(text);
  if (hp.port === 0 && !opts.allowZero) throw new SealsyncError('ERR_ADDRESS', `port must be 1-65535 in address '${text.slice(0, 80)}'`);
  return hp;
}

/** `HOST:PORT` (IPv6 bracketed). */
export function formatHostPort(hp: HostPort): string {
  return formatNetAddress(hp).slice('tcp://'.length);
}

export function parsePeerAddress(text: string): HostPort {
  refuseKeyAsAddress(text);
  return parseNetPeerAddress(text);
}

export function formatPeerAddress(hp: HostPort): string {
  return formatNetAddress(hp);
}

/** `tcp://HOST:PORT`, `tcp://HOST:PORT#ID` or `ID@HOST:PORT` (src/net/peer-address.ts); a folder key is refused unechoed. */
export function parsePeerSpec(text: string): PeerSpec {
  refuseKeyAsAddress(text);
  return parseNetPeerSpec(text);
}

/**
 * Peer addresses: the `tcp://HOST:PORT` strings users type (`sealsync peer add`)
 * and that `status` reports. HOST is an IPv4 literal, a bracketed IPv6 literal
 * or a DNS hostname; PORT is 1–65535 (port 0 is only for listening, see
 * parseListenAddress). Anything else is ERR_ADDRESS, with the offending input
 * named, so a typo never becomes a silent no-op.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { SealsyncError } from '../errors.js';
import { formatDeviceId, MAX_DEVICE_ID_TEXT_LENGTH, parseDeviceId } from '../crypto/device-id.js';

/** Longest address string we accept (a DNS name is at most 253 characters). */
export const MAX_ADDRESS_LENGTH = 300;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const SCHEME = 'tcp://';

export interface PeerAddress {
  /** Hostname or IP literal, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

function isHostname(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOSTNAME_LENGTH) return false;
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  return labels.every((l) => l.length > 0 && l.length <= MAX_LABEL_LENGTH && LABEL_RE.test(l));
}

function parsePort(text: string, allowZero: boolean, input: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new SealsyncError('ERR_ADDRESS', `invalid port in address '${input}'`);
  const port = Number(text);
  if (port > 65535 || (!allowZero && port === 0)) {
    throw new SealsyncError('ERR_ADDRESS', `port must be ${allowZero ? '0' : '1'}–65535 in address '${input}'`);
  }
  return port;
}

/** Hex digits in lower case, like every other host; a zone id (`%eth0`) names an interface, and those are case-sensitive. */
function lowerIPv6(host: string): string {
  const zone = host.indexOf('%');
  return zone < 0 ? host.toLowerCase() : host.slice(0, zone).toLowerCase() + host.slice(zone);
}

/** Splits `HOST:PORT` / `[V6]:PORT` into host and port text. */
function splitHostPort(rest: string, input: string): { host: string; portText: string } {
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new SealsyncError('ERR_ADDRESS', `invalid IPv6 address '${input}'`);
    const host = rest.slice(1, close);
    if (!isIPv6(host)) throw new SealsyncError('ERR_ADDRESS', `invalid IPv6 address '${input}'`);
    return { host: lowerIPv6(host), portText: rest.slice(close + 2) };
  }
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) throw new SealsyncError('ERR_ADDRESS', `address '${input}' needs HOST:PORT`);
  const host = rest.slice(0, colon);
  if (host.includes(':')) throw new SealsyncError('ERR_ADDRESS', `IPv6 hosts must be in brackets: '${input}'`);
  if (!isIPv4(host) && !isHostname(host)) throw new SealsyncError('ERR_ADDRESS', `invalid host in address '${input}'`);
  return { host: host.toLowerCase(), portText: rest.slice(colon + 1) };
}

function shown(input: unknown): string {
  return typeof input === 'string' ? input.slice(0, 80) : typeof input;
}

/** Parses `tcp://HOST:PORT` (the only scheme). */
export function parsePeerAddress(input: unknown): PeerAddress {
  if (typeof input !== 'string' || input.length > MAX_ADDRESS_LENGTH) {
    throw new SealsyncError('ERR_ADDRESS', `invalid address '${shown(input)}'`);
  }
  if (!input.toLowerCase().startsWith(SCHEME)) {
    throw new SealsyncError('ERR_ADDRESS', `address must look like tcp://HOST:PORT, got '${shown(input)}'`);
  }
  return parseAfterScheme(input.slice(SCHEME.length), input);
}

/** `HOST:PORT` after the scheme; errors quote what the user typed. */
function parseAfterScheme(rest: string, input: string): PeerAddress {
  const { host, portText } = splitHostPort(rest, input);
  return { host, port: parsePort(portText, false, input) };
}

/** Parses a listen address: `HOST:PORT` or `tcp://HOST:PORT`, port 0 allowed (pick one). */
export function parseListenAddress(input: unknown): PeerAddress {
  if (typeof input !== 'string' || input.length > MAX_ADDRESS_LENGTH) {
    throw new SealsyncError('ERR_ADDRESS', `invalid listen address '${shown(input)}'`);
  }
  const rest = input.toLowerCase().startsWith(SCHEME) ? input.slice(SCHEME.length) : input;
  const { host, portText } = splitHostPort(rest, input);
  return { host, port: parsePort(portText, true, input) };
}

/** Canonical text form: `tcp://host:port`, IPv6 in brackets. */
export function formatPeerAddress(addr: PeerAddress): string {
  const host = isIPv6(addr.host) ? `[${addr.host}]` : addr.host;
  return `${SCHEME}${host}:${addr.port}`;
}

/** Validates and returns the canonical form (lowercase host, no leading zeros in the port). */
export function normalizePeerAddress(input: unknown): string {
  return formatPeerAddress(parsePeerAddress(input));
}

/** A peer as the user names it: an address to dial, and the device expected there when known. */
export interface PeerSpec {
  /** Canonical `tcp://host:port`. */
  readonly address: string;
  /** Canonical device id text; absent = trust the first device that answers (TOFU). */
  readonly deviceId?: string;
}

/** Longest peer spec: an address plus a device id with generous grouping. */
export const MAX_PEER_SPEC_LENGTH = MAX_ADDRESS_LENGTH + MAX_DEVICE_ID_TEXT_LENGTH + 8;

function canonicalDeviceId(text: string, input: string): string {
  if (text.trim() === '') throw new SealsyncError('ERR_ADDRESS', `the device id in '${shown(input)}' is empty`);
  try {
    return formatDeviceId(parseDeviceId(text));
  } catch (err) {
    throw new SealsyncError('ERR_ADDRESS', `invalid device id in '${shown(input)}': ${(err as Error).message}`);
  }
}

/**
 * Parses every spelling of a peer: `tcp://HOST:PORT`, `HOST:PORT`,
 * `tcp://HOST:PORT#ID`, `HOST:PORT#ID`, `ID@HOST:PORT` and `ID@tcp://HOST:PORT`
 * (IPv6 in brackets). The id is the
 * device id (certificate fingerprint) in its text form; the address is only
 * a hint of where to find it. One spelling per input: an id given twice is
 * refused, so the two can never disagree silently.
 */
export function parsePeerSpec(input: unknown): PeerSpec {
  if (typeof input !== 'string' || input.length > MAX_PEER_SPEC_LENGTH) throw new SealsyncError('ERR_ADDRESS', `invalid peer '${shown(input)}'`);
  const text = input.trim();
  const at = text.indexOf('@');
  const hash = text.indexOf('#');
  if (at >= 0 && hash >= 0) throw new SealsyncError('ERR_ADDRESS', `give the device id once, as ID@HOST:PORT or tcp://HOST:PORT#ID, not both: '${shown(input)}'`);
  if (at >= 0) {
    if (text.toLowerCase().startsWith(SCHEME)) throw new SealsyncError('ERR_ADDRESS', `a device id goes before the address (ID@HOST:PORT) or after it (tcp://HOST:PORT#ID): '${shown(input)}'`);
    const deviceId = canonicalDeviceId(text.slice(0, at), input);
    return { address: formatPeerAddress(parseAfterScheme(withoutScheme(text.slice(at + 1), input), input)), deviceId };
  }
  if (hash >= 0) {
    const deviceId = canonicalDeviceId(text.slice(hash + 1), input);
    return { address: formatPeerAddress(parseAfterScheme(withoutScheme(text.slice(0, hash), input), input)), deviceId };
  }
  return { address: formatPeerAddress(parseAfterScheme(withoutScheme(text, input), input)) };
}

/** A bare `HOST:PORT` means tcp, the only scheme; any other scheme is named in the refusal. */
function withoutScheme(address: string, input: string): string {
  if (address.toLowerCase().startsWith(SCHEME)) return address.slice(SCHEME.length);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address);
  if (scheme) throw new SealsyncError('ERR_ADDRESS', `only tcp:// addresses are supported, got '${shown(input)}' (write ID@HOST:PORT, HOST:PORT or tcp://HOST:PORT#ID)`);
  return address;
}

/** `tcp://host:port#ID`, or the bare address when no device is pinned. */
export function formatPeerSpec(spec: PeerSpec): string {
  return spec.deviceId === undefined ? spec.address : `${spec.address}#${spec.deviceId}`;
}

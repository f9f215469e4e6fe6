/**
 * Host and Origin checks: the defence against DNS rebinding and cross-site
 * requests. A browser tricked into sending requests to 127.0.0.1 by a
 * rebinding domain still sends that domain in `Host`, so only the exact
 * addresses the dashboard is bound to are accepted. `Origin`, when the
 * browser sends one, must be the dashboard's own origin.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SealsyncError } from '../../errors.js';
import { MAX_PORT } from '../../model/net-address.js';

export const MAX_HOST_HEADER_LENGTH = 300;

export interface ListenAddress {
  /** IP literal without brackets, or 'localhost'. */
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6). Only IP literals and `localhost` are accepted. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text.trim());
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= MAX_PORT)) {
    throw new SealsyncError('ERR_ADDRESS', `invalid dashboard address "${text.slice(0, 100)}" (expected HOST:PORT)`);
  }
  if (m[1] !== undefined && isIP(host) !== 6) throw new SealsyncError('ERR_ADDRESS', `invalid IPv6 address "${host}"`);
  if (m[2] !== undefined && host !== 'localhost' && isIP(host) !== 4) {
    throw new SealsyncError('ERR_ADDRESS', `the dashboard address must be an IP address or localhost, not "${host.slice(0, 100)}"`);
  }
  return { host: host.toLowerCase(), port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** `host:port` as it appears in a Host header (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Every Host header value accepted for a dashboard bound to `host:port`.
 * Loopback: the bound address and `localhost:PORT`. A specific address: that
 * address. A wildcard: every local interface address. Plus `extraHosts`
 * (host names the user configured for remote access).
 */
export function allowedHostHeaders(bound: ListenAddress, extraHosts: readonly string[] = []): Set<string> {
  const hosts = new Set<string>();
  const { host, port } = bound;
  if (isWildcardHost(host)) {
    for (const list of Object.values(networkInterfaces())) {
      for (const ni of list ?? []) {
        if (host === '0.0.0.0' && ni.family !== 'IPv4') continue;
        hosts.add(hostPort(ni.address.toLowerCase(), port));
      }
    }
    hosts.add(`localhost:${port}`);
  } else {
    hosts.add(hostPort(host === 'localhost' ? '127.0.0.1' : host, port));
    if (isLoopbackHost(host)) hosts.add(`localhost:${port}`);
  }
  for (const extra of extraHosts) hosts.add(hostPort(extra.toLowerCase(), port));
  return hosts;
}

/** True when the Host header is exactly one of the allowed values. */
export function isAllowedHost(header: unknown, allowed: ReadonlySet<string>): boolean {
  if (typeof header !== 'string' || header.length === 0 || header.length > MAX_HOST_HEADER_LENGTH) return false;
  return allowed.has(header.toLowerCase());
}

/**
 * True when the Origin header is absent (same-origin GETs, non-browser
 * clients) or exactly `scheme://host` for the (already validated) Host.
 * The opaque origin `null` (sandboxed frames, file: pages) is refused.
 */
export function isAllowedOrigin(origin: unknown, scheme: 'http' | 'https', host: string): boolean {
  if (origin === undefined) return true;
  if (typeof origin !== 'string' || origin.length > MAX_HOST_HEADER_LENGTH + 10) return false;
  return origin.toLowerCase() === `${scheme}://${host.toLowerCase()}`;
}

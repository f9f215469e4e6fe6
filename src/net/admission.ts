/**
 * Admission of incoming connections that have proved nothing yet: at most
 * MAX_UNJOINED_CONNECTIONS in total and MAX_UNJOINED_CONNECTIONS_PER_ADDRESS
 * from one source, counted from the TCP accept until the connection joins a
 * folder or closes. A connection over either cap is closed before its TLS
 * handshake starts (it costs one accept and one close).
 *
 * A source is an IPv4 address, or an IPv6 /64: one host usually holds a
 * whole /64 and could otherwise pick a fresh address per connection.
 * Joined sessions are not counted here: users behind one NAT share an
 * address, and each device has at most one session anyway.
 */
import { isIPv6 } from 'node:net';
import { MAX_UNJOINED_CONNECTIONS, MAX_UNJOINED_CONNECTIONS_PER_ADDRESS } from './limits.js';

/** One admitted connection's place; release() (idempotent) gives it back. */
export interface AdmissionTicket {
  release(): void;
}

export type AdmissionRefusal = 'too many unjoined connections' | 'too many unjoined connections from this address';

export class ConnectionAdmission {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    private readonly maxTotal: number = MAX_UNJOINED_CONNECTIONS,
    private readonly maxPerSource: number = MAX_UNJOINED_CONNECTIONS_PER_ADDRESS,
  ) {}

  /** Unjoined connections held now (all sources). */
  get size(): number {
    return this.total;
  }

  /** Unjoined connections held now from the source of `address`. */
  countFrom(address: string): number {
    return this.bySource.get(sourceKey(address)) ?? 0;
  }

  /** A ticket, or why the connection is refused. */
  admit(address: string): AdmissionTicket | AdmissionRefusal {
    const key = sourceKey(address);
    const fromSource = this.bySource.get(key) ?? 0;
    if (fromSource >= this.maxPerSource) return 'too many unjoined connections from this address';
    if (this.total >= this.maxTotal) return 'too many unjoined connections';
    this.bySource.set(key, fromSource + 1);
    this.total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const n = (this.bySource.get(key) ?? 1) - 1;
        if (n <= 0) this.bySource.delete(key);
        else this.bySource.set(key, n);
      },
    };
  }
}

/** The source an address counts against: the IPv4 address (also when IPv4-mapped), or the IPv6 /64. */
export function sourceKey(address: string): string {
  const a = address.startsWith('::ffff:') && !isIPv6(address.slice(7)) ? address.slice(7) : address;
  if (!isIPv6(a)) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = a.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}

/**
 * Peer and listen addresses (src/net/peer-address.ts), as typed into
 * `sealsync peer add` or a config file: the input is UTF-8 text given to
 * parsePeerAddress and parseListenAddress. Oracles: a parsed address formats
 * to a canonical form that parses back to itself, with a lower-case host and a
 * port in range.
 */
import fc from 'fast-check';
import { formatPeerAddress, parseListenAddress, parsePeerAddress, type PeerAddress } from '../../../src/net/peer-address.js';
import { SealsyncError } from '../../../src/errors.js';
import { DEFAULT_BOUNDS, bytesOf, oracle, textOf, type FuzzTarget } from '../target.js';

const host = fc.oneof(
  fc.ipV4(),
  fc.ipV6().map((h) => `[${h}]`),
  fc.domain(),
  fc.constantFrom('localhost', 'LOCALHOST', 'host.', '127.0.0.1', '[::1]', '[::ffff:127.0.0.1]'),
);
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }).map(String), fc.constantFrom('1', '65535', '00080', '22000'));
const scheme = fc.constantFrom('tcp://', 'TCP://', 'Tcp://');

function checkCanonical(addr: PeerAddress, parse: (s: string) => PeerAddress): void {
  oracle(addr.port >= 0 && addr.port <= 65535 && Number.isInteger(addr.port), 'a parsed port is out of range');
  // An IPv6 zone id (`%eth0`) names an interface and keeps its case; the rest of a host is lower case.
  const zone = addr.host.includes(':') ? addr.host.indexOf('%') : -1;
  const address = zone < 0 ? addr.host : addr.host.slice(0, zone);
  oracle(address === address.toLowerCase(), 'a parsed host is not lower case');
  const canonical = formatPeerAddress(addr);
  const again = parse(canonical);
  oracle(again.host === addr.host && again.port === addr.port, `canonical form '${canonical}' does not parse back to the same address`);
}

/** Either parser may refuse; whatever one accepts must be canonical-stable. */
function tryParse(parse: (s: string) => PeerAddress, text: string): PeerAddress | null {
  try {
    const addr = parse(text);
    checkCanonical(addr, parse);
    return addr;
  } catch (err) {
    if (err instanceof SealsyncError) return null;
    throw err;
  }
}

export const peerAddressesTarget: FuzzTarget = {
  name: 'peer-addresses',
  description: 'parsePeerAddress and parseListenAddress (src/net/peer-address.ts) on typed text',
  valid: fc.tuple(scheme, host, port).map(([s, h, p]) => bytesOf(`${s}${h}:${p}`)),
  dictionary: ['tcp://', '[', ']', ':', '::', '.', '%', '%25eth0', '0x', '-', '65536', '0', '@', '/', '\u0130', '\u212a'],
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      const text = textOf(input);
      const listen = tryParse(parseListenAddress, text);
      const peer = tryParse(parsePeerAddress, text);
      // A peer address is a listen address with the scheme required and port 0 refused.
      if (peer) oracle(listen !== null && listen.host === peer.host && listen.port === peer.port, 'a peer address is not the same listen address');
      if (!peer && !listen) throw new SealsyncError('ERR_ADDRESS');
      return peer ?? listen;
    },
  }),
};

/**
 * The bounds of a network address that several formats share: a peer address
 * (net/peer-address.ts), the addresses in an invite code (crypto/invite.ts),
 * the dashboard's listen address (api/web-auth/host-origin.ts). They live
 * here, in the pure model, because crypto may not import net.
 */

/** Longest host name: a DNS name is at most 253 characters (RFC 1035); IP literals are shorter. */
export const MAX_HOST_LENGTH = 253;
/** Highest TCP port. */
export const MAX_PORT = 65535;

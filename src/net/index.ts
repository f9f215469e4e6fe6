/**
 * Public surface of src/net: the TLS transport, the wire schema, peer
 * sessions and the connection manager. The daemon wires a ConnectionManager;
 * the sync and replica engines use PeerSession (see session.ts for the state
 * machine and docs/protocol.md for the wire format).
 */
export { parsePeerAddress, parseListenAddress, formatPeerAddress, normalizePeerAddress, MAX_ADDRESS_LENGTH, type PeerAddress } from './peer-address.js';
export { MAX_FRAME_BYTES, MAX_SEALED_BLOCK_BYTES } from './frame-codec.js';
export {
  PROTOCOL_VERSION,
  MAX_INDEX_MESSAGE_BYTES,
  MAX_RECORDS_PER_INDEX_MESSAGE,
  MAX_SEALED_RECORD_BYTES,
  MAX_DEVICE_NAME_BYTES,
  indexBodySize,
  sanitizeDeviceName,
  type IndexUpdate,
  type IndexAck,
  type CloseReasonName,
} from './messages.js';
export { SyncListener, dial, ALPN_PROTOCOL, type DeviceCredentials, type SecureConnection, type DialOptions } from './transport.js';
export { MAX_INFLIGHT_REQUESTS, MAX_PEER_UNANSWERED_REQUESTS } from './limits.js';
export {
  PeerSession,
  type FolderDirectory,
  type ReceivedIndex,
  type BlockRequestHandler,
  type PeerSessionOptions,
  type SessionLimits,
  type SessionStats,
} from './session.js';
export {
  ConnectionManager,
  type ConnectionManagerOptions,
  type PeerStatus,
  type PeerTarget,
} from './connection-manager.js';

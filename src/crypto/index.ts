/** Public surface of src/crypto (pure: no fs, no net, no clock). */
export * from './keys.js';
export * from './key-text.js';
export * from './qr.js';
export * from './hash.js';
export * from './sealed-block.js';
export * from './sealed-record.js';
export * from './device.js';
export * from './device-id.js';
export * from './access-proof.js';
export { toHex, fromHex, bytesEqual } from './bytes.js';

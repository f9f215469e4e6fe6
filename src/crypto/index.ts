/**
 * Public surface of src/crypto (pure: no fs, no net, no clock).
 * QR codes (./qr.js) are not re-exported: the `qrcode` package costs a
 * daemon ~6 MiB of RSS and only the CLI's `--qr` / `key qr` use it, so
 * they import ./qr.js on demand.
 */
export * from './keys.js';
export * from './key-text.js';
export * from './hash.js';
export * from './sealed-block.js';
export * from './sealed-record.js';
export * from './device.js';
export * from './device-id.js';
export * from './access-proof.js';
export { toHex, fromHex, bytesEqual } from './bytes.js';

/**
 * Device id text form: the 32-byte SHA-256 of a device certificate's
 * SubjectPublicKeyInfo, as 52 base32 characters split into 4 runs of 13, each
 * followed by one Luhn mod 32 check character (56 characters), shown as 8
 * dash-separated groups of 7, e.g. ABCDEFG-HIJKLMN-…  Luhn mod N catches every
 * single-character error and most adjacent swaps, within the run it covers.
 * Input is case-insensitive; spaces and dashes are ignored.
 */
import { SealsyncError } from '../errors.js';
import { base32Symbol, bytesToSymbols, symbolsToBytes, symbolsToText } from './base32.js';

export const DEVICE_ID_BYTES = 32;
const RUN = 13;
const RUNS = 4;
const GROUP = 7;
const TEXT_CHARS = RUNS * (RUN + 1);
/** Longest input looked at: the grouped form plus generous whitespace. */
export const MAX_DEVICE_ID_TEXT_LENGTH = 256;

function luhnCheck(symbols: readonly number[]): number {
  let factor = 2;
  let sum = 0;
  for (let i = symbols.length - 1; i >= 0; i--) {
    let addend = factor * (symbols[i] as number);
    factor = factor === 2 ? 1 : 2;
    addend = Math.floor(addend / 32) + (addend % 32);
    sum += addend;
  }
  return (32 - (sum % 32)) % 32;
}

export function formatDeviceId(hash: Uint8Array): string {
  if (hash.byteLength !== DEVICE_ID_BYTES) throw new SealsyncError('ERR_DEVICE_ID', 'device id hash must be 32 bytes');
  const symbols = bytesToSymbols(hash);
  const withChecks: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = symbols.slice(r * RUN, (r + 1) * RUN);
    withChecks.push(...run, luhnCheck(run));
  }
  const text = symbolsToText(withChecks);
  const groups: string[] = [];
  for (let i = 0; i < text.length; i += GROUP) groups.push(text.slice(i, i + GROUP));
  return groups.join('-');
}

/** The 32-byte hash inside a device id text; ERR_DEVICE_ID on any error. */
export function parseDeviceId(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length > MAX_DEVICE_ID_TEXT_LENGTH) throw new SealsyncError('ERR_DEVICE_ID', 'device id has the wrong length');
  const compact = text.replace(/[\s-]+/g, '');
  if (compact.length !== TEXT_CHARS) throw new SealsyncError('ERR_DEVICE_ID', `a device id has ${TEXT_CHARS} characters, this one has ${compact.length}`);
  const symbols: number[] = [];
  for (const ch of compact) {
    const s = base32Symbol(ch);
    if (s === undefined) throw new SealsyncError('ERR_DEVICE_ID', 'device id contains a character that is not one of A-Z, 2-7');
    symbols.push(s);
  }
  const data: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = symbols.slice(r * (RUN + 1), r * (RUN + 1) + RUN);
    if (luhnCheck(run) !== symbols[r * (RUN + 1) + RUN]) throw new SealsyncError('ERR_DEVICE_ID', 'device id check character does not match (mistyped?)');
    data.push(...run);
  }
  const bytes = symbolsToBytes(data, DEVICE_ID_BYTES);
  if (!bytes) throw new SealsyncError('ERR_DEVICE_ID', 'device id is not canonical');
  return bytes;
}

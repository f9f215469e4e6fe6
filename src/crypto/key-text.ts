/**
 * Text, link and folder-id forms of folder keys.
 *
 * Key text = type letter + base32 body + 6 check characters, no separators:
 *   W + base32(S)          1 + 52 + 6 = 59 characters
 *   R + base32(R  || pk)   1 + 103 + 6 = 110 characters
 *   E + base32(A  || pk)   1 + 103 + 6 = 110 characters
 * The check characters (see checksum.ts) cover the type letter and the body as
 * 5-bit symbols, so any single changed character is rejected, never read as
 * another folder. Input is case-insensitive; spaces and dashes are ignored so
 * a key may be grouped for reading aloud.
 *
 * Link: sealsync://join?key=<KEY>[&name=<folder name hint>]
 */
import { SealsyncError } from '../errors.js';
import { base32Encode, base32Length, base32Symbol, bytesToSymbols, symbolsToBytes, symbolsToText } from './base32.js';
import { CHECKSUM_SYMBOLS, checksumSymbols, checksumValid } from './checksum.js';
import { concatBytes } from './bytes.js';
import { parseDeviceId } from './device-id.js';
import {
  PUBLIC_KEY_BYTES,
  SECRET_BYTES,
  keysFromAccessSecret,
  keysFromReadSecret,
  keysFromSecret,
  type FolderKeys,
  type KeyType,
} from './keys.js';

/** Longest input we even look at (a link with a name hint included). */
export const MAX_KEY_TEXT_LENGTH = 2048;
export const MAX_NAME_HINT_LENGTH = 255;
export const FOLDER_ID_TEXT_BYTES = 20;
/** A key letter and at least half the shortest key body in base32: a key, maybe mistyped. */
const KEY_LOOKALIKE = /^[WRE][A-Z2-7]{26,}$/i;
const FOLDER_ID_GROUP = 4;
const LINK_SCHEME = 'sealsync:';
const LINK_HOST = 'join';

const LETTER: Record<KeyType, string> = { rw: 'W', ro: 'R', encrypted: 'E' };
const BODY_BYTES: Record<KeyType, number> = {
  rw: SECRET_BYTES,
  ro: SECRET_BYTES + PUBLIC_KEY_BYTES,
  encrypted: SECRET_BYTES + PUBLIC_KEY_BYTES,
};
const TYPE_OF_LETTER = new Map<string, KeyType>([['W', 'rw'], ['R', 'ro'], ['E', 'encrypted']]);

export function keyTypeName(type: KeyType): string {
  return type === 'rw' ? 'read-write' : type === 'ro' ? 'read-only' : 'encrypted';
}

function body(keys: FolderKeys): Uint8Array {
  if (keys.type === 'rw') {
    if (!keys.secret) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'read-write keys without a secret');
    return keys.secret;
  }
  if (keys.type === 'ro') {
    if (!keys.readSecret) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'read-only keys without a read secret');
    return concatBytes([keys.readSecret, keys.publicKey]);
  }
  return concatBytes([keys.accessSecret, keys.publicKey]);
}

/** The key's text form (this is a secret: print it only when the user asked). */
export function formatKey(keys: FolderKeys): string {
  const letter = LETTER[keys.type];
  const symbols = [base32Symbol(letter) as number, ...bytesToSymbols(body(keys))];
  return symbolsToText([...symbols, ...checksumSymbols(symbols)]);
}

/** sealsync://join?key=…, with an optional folder name hint (not authenticated). */
export function keyLink(keys: FolderKeys, options: { name?: string } = {}): string {
  let link = `${LINK_SCHEME}//${LINK_HOST}?key=${formatKey(keys)}`;
  if (options.name !== undefined && options.name !== '') {
    link += `&name=${encodeURIComponent(options.name.slice(0, MAX_NAME_HINT_LENGTH))}`;
  }
  return link;
}

/** Parses a sealsync:// link into its key text and name hint. */
export function parseKeyLink(link: string): { key: string; name?: string } {
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    throw new SealsyncError('ERR_KEY_LINK');
  }
  const key = url.searchParams.get('key');
  if (url.protocol !== LINK_SCHEME || url.hostname !== LINK_HOST || key === null) {
    throw new SealsyncError('ERR_KEY_LINK', 'not a sealsync://join?key=… link');
  }
  const name = url.searchParams.get('name');
  return name === null || name === '' ? { key } : { key, name: name.slice(0, MAX_NAME_HINT_LENGTH) };
}

/** Parses key text (or a sealsync:// link) into keys; every failure has its own code. */
export function parseKey(text: string): FolderKeys {
  const { type, bytes } = decodeKeyText(text);
  if (type === 'rw') return keysFromSecret(bytes);
  const secret = bytes.subarray(0, SECRET_BYTES);
  const pk = bytes.subarray(SECRET_BYTES);
  return type === 'ro' ? keysFromReadSecret(secret, pk) : keysFromAccessSecret(secret, pk);
}

/**
 * Checks key text (or a link) exactly as parseKey does, with the same error
 * codes, and says its type, without deriving any key: deriving costs an
 * Ed25519 key or several HKDFs (a config of 1000 read-write folders took a
 * second to validate; found by fuzzing).
 */
export function checkKeyText(text: string): KeyType {
  return decodeKeyText(text).type;
}

/** Type and body bytes of key text or a link; every failure has its own code. */
function decodeKeyText(text: string): { type: KeyType; bytes: Uint8Array } {
  if (typeof text !== 'string') throw new SealsyncError('ERR_KEY_EMPTY');
  if (text.length > MAX_KEY_TEXT_LENGTH) throw new SealsyncError('ERR_KEY_LENGTH', 'key has the wrong length (far too long)');
  if (/^\s*sealsync:/i.test(text)) {
    const inner = parseKeyLink(text).key;
    if (/^\s*sealsync:/i.test(inner)) throw new SealsyncError('ERR_KEY_LINK', 'a link inside a link');
    return decodeKeyText(inner);
  }
  const compact = text.replace(/[\s-]+/g, '');
  if (compact.length === 0) throw new SealsyncError('ERR_KEY_EMPTY');
  const type = TYPE_OF_LETTER.get((compact[0] as string).toUpperCase());
  if (!type) {
    throw new SealsyncError('ERR_KEY_TYPE', `unknown key type '${safeChar(compact[0] as string)}' (a key starts with W, R or E)`);
  }
  const bodyBytes = BODY_BYTES[type];
  const expected = 1 + base32Length(bodyBytes) + CHECKSUM_SYMBOLS;
  if (compact.length !== expected) {
    throw new SealsyncError('ERR_KEY_LENGTH', `key has the wrong length: a ${keyTypeName(type)} key has ${expected} characters, this one has ${compact.length}`);
  }
  const symbols: number[] = [];
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i] as string;
    const s = base32Symbol(ch);
    if (s === undefined) {
      throw new SealsyncError('ERR_KEY_CHARACTER', `key character ${i + 1} ('${safeChar(ch)}') is not one of A-Z, 2-7`);
    }
    symbols.push(s);
  }
  if (!checksumValid(symbols)) throw new SealsyncError('ERR_KEY_CHECKSUM');
  const bytes = symbolsToBytes(symbols.slice(1, symbols.length - CHECKSUM_SYMBOLS), bodyBytes);
  // A correct checksum over non-canonical trailing bits can only come from a forged string.
  if (!bytes) throw new SealsyncError('ERR_KEY_CHARACTER', 'key body is not canonical base32');
  return { type, bytes };
}

/**
 * True when text typed somewhere else (a peer address, a device id) is, or
 * nearly is, a folder key or a sealsync:// link: a key letter followed by a
 * long run of base32, grouped or not, checksum right or wrong. Callers then
 * refuse it without echoing it, since a key is a secret.
 */
export function looksLikeKeyText(text: unknown): boolean {
  if (typeof text !== 'string' || text.length > MAX_KEY_TEXT_LENGTH) return false;
  const compact = text.replace(/[\s-]+/g, '');
  if (/^sealsync:/i.test(compact)) return true;
  if (!KEY_LOOKALIKE.test(compact)) return false;
  // A device id (56 base32 characters with 4 check characters) may start with W, R or E too.
  try {
    parseDeviceId(compact);
    return false;
  } catch {
    return true;
  }
}

/** A printable stand-in for a character in an error message (never echo control chars). */
function safeChar(ch: string): string {
  return /^[\x21-\x7e]$/.test(ch) ? ch : `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Short public form of a folder id: lowercase base32 of the first 20 bytes, in groups of 4. */
export function folderIdText(folderId: Uint8Array): string {
  const text = base32Encode(folderId.subarray(0, FOLDER_ID_TEXT_BYTES)).toLowerCase();
  const groups: string[] = [];
  for (let i = 0; i < text.length; i += FOLDER_ID_GROUP) groups.push(text.slice(i, i + FOLDER_ID_GROUP));
  return groups.join('-');
}

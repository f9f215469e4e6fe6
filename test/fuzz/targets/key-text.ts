/**
 * Key text and links (src/crypto/key-text.ts), as a user pastes them: the
 * input is UTF-8 text given to parseKey (which also takes sealsync:// links).
 * Valid samples are W, R and E keys of random folders, spelled every way the
 * parser promises to accept: lower case, grouped with spaces or dashes,
 * padded with whitespace, inside a link with or without a name hint.
 * Oracles: a parsed key formats back to the same characters (for key text),
 * and the keys it gives are the keys its canonical text gives.
 */
import fc from 'fast-check';
import { bytesEqual, formatKey, keyLink, keysFromAccessSecret, keysFromReadSecret, keysFromSecret, parseKey, type FolderKeys } from '../../../src/crypto/index.js';
import { DEFAULT_BOUNDS, bytesOf, oracle, textOf, type FuzzTarget } from '../target.js';

/**
 * Read-write keys cost an Ed25519 key derivation each (milliseconds on a busy
 * machine), so they come from a fixed pool; R and E keys take any 32-byte
 * public key, so theirs are fresh.
 */
const RW_POOL = Array.from({ length: 16 }, (_, i) => keysFromSecret(new Uint8Array(32).fill(i * 17)));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const keys: fc.Arbitrary<FolderKeys> = fc.oneof(
  fc.constantFrom(...RW_POOL),
  fc.tuple(bytes32, bytes32).map(([secret, pk]) => keysFromReadSecret(secret, pk)),
  fc.tuple(bytes32, bytes32).map(([secret, pk]) => keysFromAccessSecret(secret, pk)),
);

const grouped = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.constantFrom(' ', '-', '  ', ' - ', '\n', '\t')).map(([every, sep]) => (text: string) => {
  const groups: string[] = [];
  for (let i = 0; i < text.length; i += every) groups.push(text.slice(i, i + every));
  return groups.join(sep);
});

const spelling: fc.Arbitrary<(k: FolderKeys) => string> = fc.oneof(
  fc.constant((k: FolderKeys) => formatKey(k)),
  fc.constant((k: FolderKeys) => formatKey(k).toLowerCase()),
  grouped.map((g) => (k: FolderKeys) => g(formatKey(k))),
  fc.tuple(fc.constantFrom(' ', '\n', '\t', ' \r\n'), fc.constantFrom('', ' ', '\n')).map(([a, b]) => (k: FolderKeys) => `${a}${formatKey(k)}${b}`),
  fc.option(fc.string({ maxLength: 40, unit: 'grapheme' })).map((name) => (k: FolderKeys) => keyLink(k, name === null ? {} : { name })),
);

function same(a: FolderKeys, b: FolderKeys): boolean {
  return a.type === b.type && bytesEqual(a.folderId, b.folderId) && bytesEqual(a.accessSecret, b.accessSecret);
}

export const keyTextTarget: FuzzTarget = {
  name: 'key-text',
  description: 'parseKey (src/crypto/key-text.ts) on pasted key text or a sealsync:// link',
  valid: fc.tuple(keys, spelling).map(([k, spell]) => bytesOf(spell(k))),
  dictionary: ['sealsync://join?key=', 'sealsync:', '&name=', '?key=', '%', '%00', '%2F', '-', ' ', '\u00a0', '\u200b', 'W', 'R', 'E', '0', '1', '8', '9', '#', '='],
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      return parseKey(textOf(input));
    },
    check(input, decoded) {
      const text = textOf(input);
      const parsed = decoded as FolderKeys;
      const canonical = formatKey(parsed);
      oracle(same(parseKey(canonical), parsed), 'a parsed key does not survive formatting and parsing again');
      if (!/^\s*sealsync:/i.test(text)) {
        oracle(canonical === text.replace(/[\s-]+/g, '').toUpperCase(), 'a parsed key formats to other characters than it was typed with');
      }
    },
  }),
};

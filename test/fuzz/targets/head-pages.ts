/**
 * Signed head parts (src/crypto/signed-head.ts, format 3: pages and roots) as
 * a peer relays them: the input is one encoded part, checked as every
 * receiver checks it (checkHeadPage: strict decoding, then the signature).
 * Oracle: whatever the decoder accepts re-encodes to the same bytes (one
 * encoding per part, so a relay cannot make a "different" part of the same
 * head); a page's entries are inside its locator range and a stored page can
 * be searched (HeadPageLookup); a root names every page, none above its own
 * number. Hostile samples claim far more entries or vector counters than the
 * bytes hold.
 */
import fc from 'fast-check';
import { checkHeadPage, decodeHeadPage, encodeHeadPage, HeadPageLookup, headPageOf, signHead, SIGNED_HEAD_VERSION } from '../../../src/crypto/signed-head.js';
import { DEFAULT_BOUNDS, oracle, type FuzzTarget } from '../target.js';
import { FUZZ_FOLDER_KEYS, versionVector } from './folder-fixtures.js';

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

const validPages = fc.record({
  device: id32,
  writer: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
  number: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  timeMs: fc.nat({ max: 2 ** 45 }),
  entries: fc.array(fc.record({ locator: id32, version: versionVector }), { maxLength: 12 }),
  pick: fc.nat(),
}).map(({ entries, pick, ...header }) => {
  // Duplicate (locator, vector) pairs are not a map: keep the first of each.
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    const key = `${Buffer.from(e.locator).toString('hex')}/${JSON.stringify(e.version)}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const parts = signHead(FUZZ_FOLDER_KEYS, header, unique);
  return parts[pick % parts.length]!.bytes;
});

/** A header that claims up to 2^32 entries, or one entry with 65,535 vector counters, and then stops. */
const overclaiming = fc.record({ count: fc.constantFrom(1, 0xffff, 0xffffffff), counters: fc.constantFrom(0, 1025, 0xffff) }).map(({ count, counters }) => {
  const b = Buffer.alloc(2 + 32 + 8 + 8 + 8 + 1 + 1 + 4 + 4 + 32 + 2);
  b.set([SIGNED_HEAD_VERSION, 1]);
  b.writeUInt32BE(count, 2 + 32 + 8 + 8 + 8 + 1 + 1 + 4);
  b.writeUInt16BE(counters, b.length - 2);
  b[2 + 32 + 8 + 7] = 1; // number 1
  return new Uint8Array(b);
});

export const headPagesTarget: FuzzTarget = {
  name: 'head-pages',
  description: 'checkHeadPage (src/crypto/signed-head.ts): decode and verify one signed head page or root from a peer',
  valid: validPages,
  hostile: overclaiming,
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      return checkHeadPage(FUZZ_FOLDER_KEYS, input);
    },
    check(input) {
      const part = decodeHeadPage(input);
      oracle(Buffer.compare(encodeHeadPage(part), input) === 0, 'a decoded head part does not re-encode to its bytes');
      if (part.kind === 'root') {
        oracle(part.pageNumbers.length === 2 ** part.pageBits && part.pageNumbers.every((n) => n >= 1 && n <= part.number), 'a root with a bad page list decoded');
        return;
      }
      oracle(part.entries.every((e) => headPageOf(e.locator, part.pageBits) === part.pageIndex), 'an entry outside its page decoded');
      const lookup = new HeadPageLookup(input);
      oracle(part.entries.every((e) => lookup.versionsOf(e.locator).length >= 1), 'a page lookup misses an entry the page holds');
    },
  }),
};

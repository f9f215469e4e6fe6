/**
 * Torture: names real folders hold. Two real daemons, A → B, read-write.
 *
 * What a careful user expects on Linux:
 * - Odd names (leading/trailing spaces, a leading dash, shell characters,
 *   quotes, emoji, right-to-left text, zero-width characters, Windows device
 *   names, dot names) and long names (255-byte names, in ASCII and in 3-byte
 *   characters; a path nearly PATH_MAX long) arrive on B byte for byte.
 * - Names sealsync refuses to carry, because a peer could not write them back
 *   (bytes that are not UTF-8, a backslash, a newline): they stay on A
 *   untouched, are never sent, and A's status lists them (`unreadable`) with
 *   the reason in the log. Everything else still syncs.
 * - Unicode normalisation: a name spelled NFD on A (as macOS writes it)
 *   arrives as its NFC spelling on B with the same content, and A does not get
 *   an NFC twin back. When one directory holds both spellings, the NFC one
 *   syncs and the other is listed on A, never silently merged.
 * - Case: `Readme.md` and `README.md` side by side both arrive (Linux holds
 *   both). A case-only rename leaves B with the new spelling only.
 * - A name that cannot exist on the receiver (here: B's folder sits deeper,
 *   so one path crosses Linux's 4096-byte PATH_MAX on B only): B's status
 *   shows an error that names the path, needFiles counts it, nothing of it
 *   is half-written on B, and every other path syncs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../helpers/harness.js';
import { parkedWith, readTree, startPair, SYNC_TIMEOUT_MS, tempFiles, type Pair } from './pair.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Names Linux holds and sealsync carries (NFC already). */
const ODD_NAMES = [
  ' leading space', 'trailing space ', '-n', '--help', '#hash', '~tilde', "it's", 'say "hi"', '$HOME', '*star?',
  'semi;colon|pipe&amp', 'emoji 🎉😀👩‍👩‍👧', 'עברית right-to-left', 'zero\u200bwidth', 'CON', 'nul.txt', '.hidden', '..dots', '...',
  'a'.repeat(255), '€'.repeat(85), 'Readme.md', 'README.md', 'photo.JPG',
];
/** Path near PATH_MAX on A; crosses it on B, whose folder path is PATH_PAD bytes longer. */
const DEEP_SEGMENTS = 16;
const DEEP_SEGMENT = 'd'.repeat(250);
const DEEP_PATH = `${Array.from({ length: DEEP_SEGMENTS }, (_, i) => `${i}${DEEP_SEGMENT}`.slice(0, 250)).join('/')}/deep.txt`;
const PATH_PAD = 'b'.repeat(200);

const NFD = 'cafe\u0301 au lait.txt';
const NFC = NFD.normalize('NFC');
const BOTH_NFC = 'both-\u00e9.txt';
const BOTH_NFD = 'both-e\u0301.txt';

/** Names that must stay on A, listed in A's status. Buffers: written byte for byte. */
const REFUSED: { name: Buffer; listed: (p: string) => boolean }[] = [
  { name: Buffer.concat([Buffer.from('latin1-'), Buffer.from([0xe9, 0xff]), Buffer.from('.txt')]), listed: (p) => p.startsWith('latin1-') && p.includes('\uFFFD') },
  { name: Buffer.from('back\\slash.txt'), listed: (p) => p === 'back\\slash.txt' },
  { name: Buffer.from('new\nline.txt'), listed: (p) => p === 'new\nline.txt' },
];

describe('torture: names', () => {
  let p: Pair;

  before(async () => {
    p = await startPair({
      dirB: async (root) => join(root, PATH_PAD, 'fb'),
      seedA: async (dir) => {
        for (const n of ODD_NAMES) await writeFile(join(dir, n), `content of ${n}`);
        let deep = dir;
        for (const seg of DEEP_PATH.split('/').slice(0, -1)) deep = join(deep, seg);
        await mkdir(deep, { recursive: true });
        await writeFile(join(dir, DEEP_PATH), 'at the bottom of a long path');
        await writeFile(join(dir, NFD), 'decomposed');
        await mkdir(join(dir, 'twins'));
        await writeFile(join(dir, 'twins', BOTH_NFC), 'composed twin');
        await writeFile(join(dir, 'twins', BOTH_NFD), 'decomposed twin');
        for (const r of REFUSED) await writeFile(Buffer.concat([Buffer.from(`${dir}/`), r.name]), 'refused');
      },
    });
  });
  after(() => p?.cleanup());

  test('odd and long names arrive byte for byte; refused names are listed on A and never sent', async () => {
    let missing: string[] = [];
    const treeB = await pollUntil(async () => {
      const t = await readTree(p.dirB);
      missing = [...ODD_NAMES, NFC, `twins/${BOTH_NFC}`].filter((n) => !t.has(n) || (ODD_NAMES.includes(n) && t.get(n)?.digest !== sha(`content of ${n}`)));
      return missing.length === 0 ? t : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'every accepted name on B', last: () => `missing ${JSON.stringify(missing)}` });
    for (const n of ODD_NAMES) assert.equal(treeB.get(n)?.kind, 'file', n);
    const fa = await p.a.waitForFolder(p.dirA, (f) => f.state === 'idle' && (f.unreadable ?? []).length >= REFUSED.length + 1, { description: 'A lists refused names' });
    for (const r of REFUSED) {
      assert.ok(fa.unreadable?.some(r.listed), `A lists ${JSON.stringify(r.name.toString('latin1'))}: ${JSON.stringify(fa.unreadable)}`);
      assert.ok(![...treeB.keys()].some((k) => k.includes('slash') || k.includes('line.txt') || k.startsWith('latin1-')), 'never sent');
    }
    // A still holds them, untouched.
    const treeA = await readTree(p.dirA);
    assert.ok(treeA.has('back\\slash.txt') && treeA.has('new\nline.txt') && treeA.has('latin1-\\xe9\\xff.txt'), 'refused names stay on A');
    assert.equal(fa.error, null, 'a refused name is not a folder error');
  });

  test('NFD arrives as NFC with its content; A keeps its own spelling and gets no twin', async () => {
    const treeB = await readTree(p.dirB);
    assert.equal(treeB.get(NFC)?.digest, sha('decomposed'));
    assert.equal(treeB.has(NFD), false, 'B spells it NFC');
    assert.equal(treeB.get(`twins/${BOTH_NFC}`)?.digest, sha('composed twin'), 'the NFC twin wins');
    const fa = await p.folderA();
    assert.ok(fa.unreadable?.includes(`twins/${BOTH_NFC}`), `A lists the twin pair: ${JSON.stringify(fa.unreadable)}`);
    const treeA = await readTree(p.dirA);
    assert.equal(treeA.has(NFC), false, 'no NFC twin appears on A');
    assert.equal(treeA.get(NFD)?.digest, sha('decomposed'), 'A keeps its NFD file');
    assert.equal(treeA.get(`twins/${BOTH_NFD}`)?.digest, sha('decomposed twin'), 'the NFD twin stays on A, untouched');
  });

  test('a path B cannot hold: a clear error on B, nothing half-written, the rest synced', async () => {
    const fb = await p.b.waitForFolder(p.dirB, parkedWith(/deep\.txt: .*(ENAMETOOLONG|too long)/i), { timeoutMs: SYNC_TIMEOUT_MS, description: 'B reports the path it cannot write' });
    const first = fb.parked[0];
    assert.ok(first && (fb.notice ?? '').includes(`${first.path}: ${first.reason}`), `the notice names a parked path and its cause: ${fb.notice}`);
    const treeB = await readTree(p.dirB);
    assert.equal([...treeB.keys()].some((k) => k.endsWith('deep.txt')), false, 'no deep.txt on B');
    assert.deepEqual(tempFiles(treeB), [], 'no temp file on B');
    const fa = await p.folderA();
    assert.equal(fa.error, null, 'A is not affected');
  });

  test('a case-only rename leaves B with the new spelling only', async () => {
    await rename(join(p.dirA, 'photo.JPG'), join(p.dirA, 'photo.jpg'));
    await writeFile(join(p.dirA, 'after-rename.txt'), 'still syncing');
    const treeB = await pollUntil(async () => {
      const t = await readTree(p.dirB);
      return t.has('photo.jpg') && !t.has('photo.JPG') && t.has('after-rename.txt') ? t : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'photo.jpg only on B' });
    assert.equal(treeB.get('photo.jpg')?.digest, sha('content of photo.JPG'));
    assert.equal(treeB.get('Readme.md')?.digest, sha('content of Readme.md'), 'case twins both kept');
    assert.equal(treeB.get('README.md')?.digest, sha('content of README.md'));
    const treeA = await readTree(p.dirA);
    assert.equal(treeA.has('photo.JPG'), false, 'the old spelling does not come back to A');
  });
});

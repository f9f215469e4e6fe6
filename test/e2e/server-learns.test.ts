/**
 * What the encrypted server learns (docs/crypto.md, section 6, the table),
 * checked on a real server's index database and disk:
 *
 *   A (W) ──► S (E)        real daemons on loopback
 *
 * A shares files whose paths differ only in length (and a few with content);
 * once S holds A's newest head, S's index is read: every stored record's
 * length is a size bucket, paths of different lengths within one bucket have
 * records of equal size, and the heads S keeps verify and list exactly the
 * records S holds, and the one bit of kind S sees (the envelope's "live
 * file" flag) is set exactly on the files. Block assertions (bucket sizes of sealed blocks, chunk
 * boundaries that differ between folders) belong next to these, on the same
 * fixture.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveEncrypted, formatKey, keysFromSecret, locatorFor, newFolderSecret } from '../../src/crypto/index.js';
import { toHex } from '../../src/crypto/bytes.js';
import { decodeSealedRecord } from '../../src/crypto/sealed-record.js';
import { checkHeadPage } from '../../src/crypto/signed-head.js';
import { isBucketLength } from '../../src/crypto/size-buckets.js';
import { vectorKey } from '../../src/model/version-vector.js';
import { TestHome, pollUntil } from './helpers/harness.js';
import { newestHead, readServerState, type ServerState } from './helpers/server-state.js';

const SYNC_TIMEOUT_MS = 30_000;
/** Empty files named n-x, n-xx, … : the same record but for the path's length (1 to 24 more bytes). */
const LENGTH_PATHS = Array.from({ length: 24 }, (_, i) => `names/n-${'x'.repeat(i + 1)}.txt`);
const CONTENT_FILES: Record<string, string> = { 'docs/readme.md': 'hello\n'.repeat(100), 'notes.txt': 'a short note' };

describe('what the encrypted server learns', () => {
  const keys = keysFromSecret(newFolderSecret());
  const eKeys = deriveEncrypted(keys);
  let a: TestHome;
  let s: TestHome;
  let server: ServerState;

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    const dirA = join(a.root, 'folder-a');
    const store = join(a.root, 'store-s');
    await mkdir(join(dirA, 'names'), { recursive: true });
    await mkdir(join(dirA, 'docs'));
    await mkdir(store);
    for (const p of LENGTH_PATHS) await writeFile(join(dirA, p), '');
    for (const [p, text] of Object.entries(CONTENT_FILES)) await writeFile(join(dirA, p), text);
    await Promise.all([a.startDaemon(), s.startDaemon()]);
    await a.cliOk(['folder', 'add', dirA, '--key', formatKey(keys)]);
    await s.cliOk(['folder', 'add', store, '--key', formatKey(eKeys)]);
    const sAddress = (await s.status()).device.listen.find((x) => x.includes('127.0.0.1'));
    assert.ok(sAddress);
    await a.cliOk(['peer', 'add', sAddress]);
    // Every path (and the two directories) and A's newest head are on S.
    const expected = LENGTH_PATHS.length + Object.keys(CONTENT_FILES).length + 2;
    server = await pollUntil(async () => {
      const st = readServerState(s.paths.index);
      const aHead = newestHead(readServerState(a.paths.index));
      return st.records.size >= expected && aHead > 0 && newestHead(st) === aHead ? st : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'S to hold every record and A\'s newest head' });
  });
  after(async () => {
    await s?.cleanup();
    await a?.cleanup();
  });

  test('every record S stores is a size bucket', () => {
    const lengths = [...server.records.values()].flat().map((r) => r.byteLength);
    assert.ok(lengths.length >= LENGTH_PATHS.length);
    const off = lengths.filter((n) => !isBucketLength(n));
    assert.deepEqual(off, [], 'record lengths that are not bucket values');
  });

  test('paths of different lengths within one bucket give records of equal size', (t) => {
    const sizeOf = (path: string) => {
      const list = server.records.get(toHex(locatorFor(keys, path)));
      assert.ok(list?.length === 1, `S holds ${path}`);
      return list[0]!.byteLength;
    };
    const bySize = new Map<number, string[]>();
    for (const p of LENGTH_PATHS) bySize.set(sizeOf(p), [...(bySize.get(sizeOf(p)) ?? []), p]);
    t.diagnostic(`24 path lengths → record sizes ${[...bySize.keys()].sort((x, y) => x - y).join(', ')}`);
    // Unpadded, 24 lengths would give 24 sizes. Buckets of these records are 16 bytes wide: at most 3 sizes.
    assert.ok(bySize.size <= 3, `${bySize.size} distinct sizes`);
    const shared = [...bySize.values()].find((paths) => paths.length >= 2);
    assert.ok(shared, 'some paths of different lengths share a size');
    assert.notEqual(shared[0]!.length, shared[1]!.length);
  });

  // Issue 14: S counts files as full peers do, by one envelope bit; that bit is all it learns of kinds.
  test('S learns one bit per record, "live file": set on every file, empty ones too, and on nothing else', () => {
    const dirs = new Set(['names', 'docs'].map((p) => toHex(locatorFor(keys, p))));
    const files = new Set([...LENGTH_PATHS, ...Object.keys(CONTENT_FILES)].map((p) => toHex(locatorFor(keys, p))));
    for (const [loc, recs] of server.records) {
      for (const bytes of recs) {
        const r = decodeSealedRecord(bytes);
        assert.equal(r.file, files.has(loc), `${loc}: flag`);
        if (dirs.has(loc)) assert.equal(r.blockIds.length, 0, 'a directory: no blocks, no flag');
      }
    }
    assert.equal([...server.records.keys()].filter((l) => files.has(l)).length, files.size, 'every file is on S');
  });

  test('the heads S keeps verify with the server\'s own key and list exactly the records it holds', () => {
    const listed = new Set<string>();
    for (const h of server.heads) {
      const part = checkHeadPage(eKeys, h.bytes);
      if (part.kind === 'page') for (const e of part.entries) listed.add(`${toHex(e.locator)}/${vectorKey(e.version)}`);
    }
    const held = new Set([...server.records.entries()].flatMap(([loc, recs]) => recs.map((r) => `${loc}/${vectorKey(decodeSealedRecord(r).version)}`)));
    assert.deepEqual([...listed].sort(), [...held].sort());
  });
});

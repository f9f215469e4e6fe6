/**
 * Torture: the kinds of entries real folders hold. Two real daemons, A → B.
 *
 * What a careful user expects on Linux:
 * - Special files (a FIFO, a unix socket, a character and a block device):
 *   never synced and never opened (a FIFO must not hang the scan); A's status
 *   lists each one (`unreadable`) and is not in error; everything else syncs.
 * - Empty directories, nested or emptied later, exist on B too; removing one
 *   on A removes it on B.
 * - The exec bit follows chmod +x / -x on A.
 * - A sparse file arrives with identical content; its holes stay holes on B
 *   (B does not allocate the zero ranges).
 * - Hard links: each name arrives as a file with the content (the link itself
 *   is not kept: B gets two files). Writing through one name changes what
 *   both names show on A, so both names change on B.
 * - Extreme modification times (the epoch, before 1970, the year 2100 and
 *   9999) arrive to the millisecond, as A's file system holds them (ext4
 *   stores times up to 2446, so 9999 is already clamped on A).
 * - A file replaced by a directory (with content), and that directory
 *   replaced by a file again, leave B the same as A each time.
 * After every step: trees equal, no temp file on either side.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { converge, startPair, type Pair } from './pair.js';

const SPECIAL = ['fifo', 'socket', 'char-dev', 'block-dev'];
const SPARSE_BYTES = 64 * 1024 * 1024;
const MTIMES_S: Record<string, number> = {
  'mtime-epoch.txt': 0,
  'mtime-1938.txt': -1_000_000_000,
  'mtime-2100.txt': 4_102_444_800,
  'mtime-9999.txt': 253_402_300_799,
};

describe('torture: kinds of entries', () => {
  let p: Pair;

  before(async () => {
    p = await startPair({
      seedA: async (dir) => {
        execFileSync('mknod', [join(dir, 'fifo'), 'p']);
        execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(dir, 'socket')]);
        execFileSync('mknod', [join(dir, 'char-dev'), 'c', '1', '3']);
        execFileSync('mknod', [join(dir, 'block-dev'), 'b', '7', '200']);
        await mkdir(join(dir, 'empty/nested/deeper'), { recursive: true });
        await mkdir(join(dir, 'will-empty'));
        await writeFile(join(dir, 'will-empty', 'f.txt'), 'soon gone');
        await writeFile(join(dir, 'tool.sh'), '#!/bin/sh\n');
        // Sparse: 64 MiB, data only at the start, the middle and the end.
        const fh = await open(join(dir, 'sparse.img'), 'w');
        await fh.truncate(SPARSE_BYTES);
        for (const at of [0, SPARSE_BYTES / 2, SPARSE_BYTES - 4096]) await fh.write(Buffer.alloc(4096, 0x5a), 0, 4096, at);
        await fh.close();
        await writeFile(join(dir, 'linked-1.txt'), 'one inode, two names');
        await link(join(dir, 'linked-1.txt'), join(dir, 'linked-2.txt'));
        for (const [name, s] of Object.entries(MTIMES_S)) {
          await writeFile(join(dir, name), name);
          // Seconds as a numeric string: Node's utimes turns a negative number into now.
          await utimes(join(dir, name), String(s), String(s + 0.25));
        }
        await writeFile(join(dir, 'shape'), 'a file first');
      },
    });
  });
  after(() => p?.cleanup());

  test('special files are listed on A, never sent; everything else syncs exactly', async () => {
    const treeB = await converge(p.dirA, p.dirB, 'B equal to A but for special files', { skip: (k) => SPECIAL.includes(k) });
    for (const s of SPECIAL) assert.equal(treeB.has(s), false, `${s} not on B`);
    const fa = await p.a.waitForFolder(p.dirA, (f) => f.state === 'idle', { description: 'A idle' });
    for (const s of SPECIAL) assert.ok(fa.unreadable?.includes(s), `A lists ${s}: ${JSON.stringify(fa.unreadable)}`);
    assert.equal(fa.error, null);
    assert.equal(treeB.get('empty/nested/deeper')?.kind, 'dir', 'nested empty directories');
  });

  test('extreme mtimes arrive to the millisecond', async () => {
    for (const [name, s] of Object.entries(MTIMES_S)) {
      const [sa, sb] = await Promise.all([stat(join(p.dirA, name)), stat(join(p.dirB, name))]);
      // ext4 keeps times up to 2446: A's year-9999 file is already clamped when written; B must match A.
      if (s < 2 ** 34) assert.equal(Math.floor(sa.mtimeMs), Math.floor((s + 0.25) * 1000), `${name} as written on A`);
      assert.equal(Math.floor(sb.mtimeMs), Math.floor(sa.mtimeMs), name);
    }
  });

  test('a sparse file arrives with the same content and stays sparse', async () => {
    const [sa, sb] = await Promise.all([stat(join(p.dirA, 'sparse.img')), stat(join(p.dirB, 'sparse.img'))]);
    assert.equal(sb.size, SPARSE_BYTES);
    // converge() compared the content; the holes: B may allocate at most a few blocks more than A.
    assert.ok(sb.blocks * 512 <= sa.blocks * 512 + 4 * 1024 * 1024, `B allocates ${sb.blocks * 512} bytes for a file A holds in ${sa.blocks * 512}`);
  });

  test('hard links: writing through one name changes both names on B', async () => {
    const fh = await open(join(p.dirA, 'linked-1.txt'), 'r+');
    await fh.write('ONE INODE', 0);
    await fh.close();
    const treeB = await converge(p.dirA, p.dirB, 'both link names updated on B', { skip: (k) => SPECIAL.includes(k) });
    assert.equal(treeB.get('linked-1.txt')?.digest, treeB.get('linked-2.txt')?.digest);
  });

  test('exec bit and empty directories follow A', async () => {
    await chmod(join(p.dirA, 'tool.sh'), 0o755);
    await rm(join(p.dirA, 'will-empty', 'f.txt'));
    let treeB = await converge(p.dirA, p.dirB, 'exec bit set, directory emptied', { skip: (k) => SPECIAL.includes(k) });
    assert.equal(treeB.get('tool.sh')?.mode, 0o755);
    assert.equal(treeB.get('will-empty')?.kind, 'dir', 'the emptied directory stays');
    await chmod(join(p.dirA, 'tool.sh'), 0o644);
    await rm(join(p.dirA, 'empty'), { recursive: true });
    treeB = await converge(p.dirA, p.dirB, 'exec bit cleared, empty tree removed', { skip: (k) => SPECIAL.includes(k) });
    assert.equal(treeB.get('tool.sh')?.mode, 0o644);
    assert.equal(treeB.has('empty'), false);
  });

  test('a file replaced by a directory and back', async () => {
    await rm(join(p.dirA, 'shape'));
    await mkdir(join(p.dirA, 'shape'));
    await writeFile(join(p.dirA, 'shape', 'inside.txt'), 'now a directory');
    let treeB = await converge(p.dirA, p.dirB, 'shape is a directory on B', { skip: (k) => SPECIAL.includes(k) });
    assert.equal(treeB.get('shape')?.kind, 'dir');
    await rm(join(p.dirA, 'shape'), { recursive: true });
    await writeFile(join(p.dirA, 'shape'), 'a file again');
    treeB = await converge(p.dirA, p.dirB, 'shape is a file again on B', { skip: (k) => SPECIAL.includes(k) });
    assert.equal(treeB.get('shape')?.kind, 'file');
    await p.bothSynced('after the shape changes');
  });
});

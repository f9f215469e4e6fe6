/**
 * Torture: files and directories the daemon cannot read. A's daemon runs as
 * `nobody` (uid 65534): root's CAP_DAC_OVERRIDE would read a chmod-000 file,
 * so the test would prove nothing as root. As `nobody`, chmod 000 on files it
 * owns really makes open(2) and readdir(2) fail with EACCES — exactly what a
 * user's daemon meets on a file another program locked down.
 *
 * What a careful user expects on Linux:
 * - A file A cannot read (edited, then chmod 000) is listed in A's status
 *   (`unreadable`); B keeps the last version A could read — never deleted,
 *   never half-sent; everything else A changes keeps syncing.
 * - A directory A cannot list (chmod 000): listed on A; B keeps every file
 *   under it (a directory that cannot be read is not a directory emptied).
 * - Once readable again, the new content arrives and the list empties.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../helpers/harness.js';
import { converge, readTree, startPair, SYNC_TIMEOUT_MS, type Pair } from './pair.js';

const NOBODY = { uid: 65534, gid: 65534 };

describe('torture: unreadable files (daemon A as nobody)', { timeout: 300_000 }, () => {
  let p: Pair;
  const owned = async (path: string): Promise<void> => chown(path, NOBODY.uid, NOBODY.gid);

  before(async () => {
    p = await startPair({
      asUserA: NOBODY,
      seedA: async (dir) => {
        await mkdir(join(dir, 'locked-dir'));
        await owned(join(dir, 'locked-dir'));
        for (const f of ['secret.txt', 'other.txt', 'locked-dir/inside-1.txt', 'locked-dir/inside-2.txt']) {
          await writeFile(join(dir, f), `first version of ${f}`);
          await owned(join(dir, f));
        }
      },
    });
    await converge(p.dirA, p.dirB, 'initial sync');
  });
  after(() => p?.cleanup());

  test('an unreadable file and directory are listed on A; B keeps them; the rest keeps syncing', async () => {
    await writeFile(join(p.dirA, 'secret.txt'), 'second version, never readable by the daemon');
    await chmod(join(p.dirA, 'secret.txt'), 0o000);
    await chmod(join(p.dirA, 'locked-dir'), 0o000);
    await writeFile(join(p.dirA, 'other.txt'), 'other changed meanwhile');
    await writeFile(join(p.dirA, 'new.txt'), 'new meanwhile');
    await owned(join(p.dirA, 'new.txt'));
    const fa = await p.a.waitForFolder(p.dirA, (f) => f.state === 'idle' && ['secret.txt', 'locked-dir'].every((x) => f.unreadable?.includes(x)), {
      timeoutMs: SYNC_TIMEOUT_MS, description: 'A lists secret.txt and locked-dir',
    });
    assert.equal(fa.error, null, 'an unreadable path is not a folder error');
    const treeB = await pollUntil(async () => {
      const t = await readTree(p.dirB);
      return t.has('new.txt') && (await readFile(join(p.dirB, 'other.txt'), 'utf8')) === 'other changed meanwhile' ? t : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'the other changes on B' });
    assert.equal(await readFile(join(p.dirB, 'secret.txt'), 'utf8'), 'first version of secret.txt', 'B keeps the last readable version');
    assert.equal(treeB.get('secret.txt')?.mode, 0o644, 'B keeps a readable copy (the chmod is not taken for a content change)');
    for (const f of ['locked-dir/inside-1.txt', 'locked-dir/inside-2.txt']) assert.equal(await readFile(join(p.dirB, f), 'utf8'), `first version of ${f}`, `${f} kept on B`);
  });

  test('readable again: the new content arrives and nothing is listed any more', async () => {
    await chmod(join(p.dirA, 'secret.txt'), 0o644);
    await chmod(join(p.dirA, 'locked-dir'), 0o755);
    await converge(p.dirA, p.dirB, 'secret.txt arrives');
    assert.equal(await readFile(join(p.dirB, 'secret.txt'), 'utf8'), 'second version, never readable by the daemon');
    await p.a.waitForFolder(p.dirA, (f) => f.state === 'idle' && (f.unreadable ?? []).length === 0, { description: 'A lists nothing' });
  });
});

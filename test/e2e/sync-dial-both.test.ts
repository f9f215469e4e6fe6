/**
 * Two devices that each add the other (`peer add` on both, as the dashboard
 * tests and most users do) open two connections; both keep the one dialled by
 * the smaller device id and close the other (connection-manager.ts). Here the
 * device with the smaller id always dials second, so the connection it opens
 * replaces the one that already synced. Changes must keep flowing both ways
 * over the kept connection, every round.
 *
 * The bug this guards (the dashboard-versions flake): the replaced
 * connection's folder link, closing after the kept one had attached, detached
 * the peer by device id, that is the kept link; the kept connection then
 * carried no index update and no block until the next reconnect.
 */
import { after, before, describe, test } from 'node:test';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestHome, makeTempDir, pollUntil } from './helpers/harness.js';

const SYNC_WAIT_MS = 30_000;
const ROUNDS = 4;

async function readOrNull(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

async function arrives(path: string, content: string, what: string): Promise<void> {
  await pollUntil(async () => ((await readOrNull(path)) === content ? true : undefined), { timeoutMs: SYNC_WAIT_MS, intervalMs: 100, description: what });
}

describe('both devices dial each other: the deduplicated connection keeps syncing', () => {
  /** Dials first; the larger device id. */
  let first: TestHome;
  /** Dials second; the smaller device id: its connection is the one both keep. */
  let second: TestHome;
  let firstDir: string;
  let secondDir: string;
  let firstAddr: string;
  let secondAddr: string;

  before(async () => {
    const root = await makeTempDir('ss-dial-');
    const x = await TestHome.create({ root, name: 'x' });
    const y = await TestHome.create({ root, name: 'y' });
    await Promise.all([x.startDaemon(), y.startDaemon()]);
    const [xId, yId] = [(await x.status()).device.id, (await y.status()).device.id];
    [first, second] = xId < yId ? [y, x] : [x, y];
    firstDir = join(root, 'first-dir');
    secondDir = join(root, 'second-dir');
    await mkdir(firstDir);
    await mkdir(secondDir);
    const key = (await first.newKey()).trim();
    await first.cliOk(['folder', 'add', firstDir, '--key', key, '--wait']);
    await second.cliOk(['folder', 'add', secondDir, '--key', key, '--wait']);
    firstAddr = await first.listenAddress();
    secondAddr = await second.listenAddress();
  });

  after(async () => {
    await first?.cleanup();
    await second?.cleanup();
  });

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: the second device's connection replaces the first's, and changes flow both ways`, async () => {
      await writeFile(join(firstDir, `seed-${round}.txt`), `seed ${round}\n`);
      await first.cliOk(['folder', 'rescan', firstDir, '--wait']);
      await first.cliOk(['peer', 'add', secondAddr]);
      await arrives(join(secondDir, `seed-${round}.txt`), `seed ${round}\n`, 'the first connection syncs');
      await second.cliOk(['peer', 'add', firstAddr]);
      // The replaced connection closes while the kept one joins: give both a moment to settle either way.
      await second.waitForStatus((s) => s.peers.some((p) => p.connected && p.sharedFolders === 1), { timeoutMs: SYNC_WAIT_MS });
      await writeFile(join(secondDir, `from-second-${round}.txt`), `second, round ${round}\n`);
      await second.cliOk(['folder', 'rescan', secondDir, '--wait']);
      await arrives(join(firstDir, `from-second-${round}.txt`), `second, round ${round}\n`, 'a change on the second device reaches the first');
      await writeFile(join(firstDir, `from-first-${round}.txt`), `first, round ${round}\n`);
      await first.cliOk(['folder', 'rescan', firstDir, '--wait']);
      await arrives(join(secondDir, `from-first-${round}.txt`), `first, round ${round}\n`, 'a change on the first device reaches the second');
      await Promise.all([first.cliOk(['peer', 'remove', secondAddr]), second.cliOk(['peer', 'remove', firstAddr])]);
      await Promise.all([
        first.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS }),
        second.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS }),
      ]);
    });
  }
});

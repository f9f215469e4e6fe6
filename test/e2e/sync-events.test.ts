/**
 * Two real daemons (A and B, both read-write) on loopback:
 * - B's own ignore rules (`.sealsync/ignore`) keep A's files under them off
 *   B's disk: the puller asks LocalFolder's rules.
 * - What B's puller applies shows on B's event stream as file-changed with
 *   source 'peer'; a conflict (both edit one file while apart) shows as a
 *   `conflict` event naming the copy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonEvent } from '../../src/api/daemon-api.js';
import { makeTempDir, pollUntil, TestHome } from './helpers/harness.js';

const SYNC_TIMEOUT_MS = 20_000;

let root: string;
let a: TestHome;
let b: TestHome;
let dirA: string;
let dirB: string;

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

async function waitForContent(path: string, content: string, what: string): Promise<void> {
  await pollUntil(async () => ((await readFile(path, 'utf8').catch(() => null)) === content ? true : undefined),
    { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 100, description: what });
}

before(async () => {
  root = await makeTempDir();
  [a, b] = await Promise.all([TestHome.create({ root, name: 'a' }), TestHome.create({ root, name: 'b' })]);
  dirA = join(root, 'fa');
  dirB = join(root, 'fb');
  await mkdir(dirA);
  await mkdir(join(dirB, '.sealsync'), { recursive: true });
  await writeFile(join(dirB, '.sealsync', 'ignore'), 'private/\n');
  await Promise.all([a.startDaemon(), b.startDaemon()]);
  const key = await a.newKey();
  await a.cliOk(['folder', 'add', dirA, '--key', key, '--wait']);
  await b.cliOk(['folder', 'add', dirB, '--key', key, '--wait']);
  await b.cliOk(['peer', 'add', await a.listenAddress()]);
  await b.waitForStatus((s) => s.peers.some((p) => p.connected), { timeoutMs: SYNC_TIMEOUT_MS, description: 'b connected to a' });
});
after(async () => {
  await a.cleanup();
  await b.cleanup();
  const { rm } = await import('node:fs/promises');
  await rm(root, { recursive: true, force: true });
});

test("the puller keeps off paths B ignores and reports what it applied as file-changed (source 'peer')", async () => {
  await mkdir(join(dirA, 'private'));
  await writeFile(join(dirA, 'private', 'secret.txt'), 'not for B');
  await writeFile(join(dirA, 'hello.txt'), 'hello from A');
  await waitForContent(join(dirB, 'hello.txt'), 'hello from A', 'hello.txt on B');
  // A has indexed both in the same scan (watcher batch) and B pulled: the ignored one must not follow.
  await b.waitForFolder(dirB, (f) => f.state === 'idle' && f.needFiles === 0, { timeoutMs: SYNC_TIMEOUT_MS });
  assert.equal(await exists(join(dirB, 'private', 'secret.txt')), false, 'ignored by B: never written');
  const events = await b.events(300);
  const fromPeer = events.flatMap((e) => (e.type === 'file-changed' && e.source === 'peer' ? [`${e.action} ${e.file}`] : []));
  assert.ok(fromPeer.includes('added hello.txt'), `peer events: ${fromPeer.join(', ')}`);
  assert.ok(!fromPeer.some((e) => e.includes('private')), 'nothing reported for the ignored path');
  // B's scanner did not report the pulled file as its own change.
  const local = events.flatMap((e) => (e.type === 'file-changed' && e.source === 'local' ? [e.file] : []));
  assert.ok(!local.includes('hello.txt'), `local events: ${local.join(', ')}`);
});

test('both edit one file while apart: a conflict event names the copy', async () => {
  await writeFile(join(dirA, 'n.txt'), 'base');
  await waitForContent(join(dirB, 'n.txt'), 'base', 'n.txt on B');
  const address = await a.listenAddress();
  await b.cliOk(['peer', 'remove', address]);
  await b.waitForStatus((s) => s.peers.length === 0, { description: 'b forgot a' });
  await a.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_TIMEOUT_MS, description: 'a sees b gone' });
  await writeFile(join(dirA, 'n.txt'), 'edit from A');
  await utimes(join(dirA, 'n.txt'), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  await writeFile(join(dirB, 'n.txt'), 'edit from B, later');
  await utimes(join(dirB, 'n.txt'), new Date(1_700_000_100_000), new Date(1_700_000_100_000));
  // Both scanners must have recorded their edit before the two meet.
  await Promise.all([a.cliOk(['folder', 'rescan', dirA, '--wait']), b.cliOk(['folder', 'rescan', dirB, '--wait'])]);
  await b.cliOk(['peer', 'add', address]);
  let conflicts: DaemonEvent[] = [];
  await pollUntil(async () => {
    const [ea, eb] = await Promise.all([a.events(200), b.events(200)]);
    conflicts = [...ea, ...eb].filter((e) => e.type === 'conflict');
    return conflicts.length > 0 ? true : undefined;
  }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 200, description: 'a conflict event' });
  for (const e of conflicts) {
    assert.ok(e.type === 'conflict');
    assert.equal(e.file, 'n.txt');
    assert.match(e.conflictFile, /^n\.sync-conflict-\d{8}-\d{6}-[0-9A-F]{7}\.txt$/);
    assert.match(e.writer, /^[0-9a-f]{16}$/);
    assert.ok(e.folder === dirA || e.folder === dirB);
    // The older edit (A's) lost: A's own daemon reports it as its own device's version.
    assert.equal(e.thisDevice, e.folder === dirA);
  }
  const copy = conflicts[0]?.type === 'conflict' ? conflicts[0].conflictFile : '';
  await waitForContent(join(dirA, copy), 'edit from A', 'the copy on A');
  await waitForContent(join(dirB, copy), 'edit from A', 'the copy on B');
  await waitForContent(join(dirA, 'n.txt'), 'edit from B, later', 'the winner on A');
});

/**
 * Linking devices with one code, with real daemons on loopback: a fresh
 * device C joins A with an invite, is approved, and gets every folder of A
 * with the right key type, syncing them, with no `peer add` and no key typed.
 * A folder added on one linked device appears on the other. Reused, altered
 * and expired codes are refused in one line. After C is unlinked, a folder
 * added on A no longer reaches C, and A refuses C's connections.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatInviteCode, parseInviteCode } from '../../src/crypto/invite.js';
import { makeTempDir, pollUntil, scanSettled, TestHome } from './helpers/harness.js';

const SYNC_TIMEOUT_MS = 30_000;
/** Invites made by X (the expiry test's inviter) expire after this long (SEALSYNC_INVITE_TTL_MS can only shorten them). */
const TEST_TTL_MS = 1500;

let root: string;
let a: TestHome;
let c: TestHome;
let docs: string;
let photos: string;
let vault: string;
let into: string;
const init = (name: string) => ['--name', name, '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'];

before(async () => {
  root = await makeTempDir();
  [a, c] = await Promise.all([TestHome.create({ root, name: 'a', init: init('alpha') }), TestHome.create({ root, name: 'c', init: init('gamma') })]);
  // A's folders from linked devices land in its home directory (no --into on the inviter): a temp one.
  const homeA = join(root, 'home-a');
  await mkdir(homeA);
  await Promise.all([a.startDaemon({ env: { HOME: homeA } }), c.startDaemon()]);
  docs = join(root, 'a-docs');
  photos = join(root, 'a-photos');
  vault = join(root, 'a-vault');
  into = join(root, 'c-sync');
  await Promise.all([mkdir(docs), mkdir(photos), mkdir(vault), mkdir(into)]);
  await writeFile(join(docs, 'hello.txt'), 'hello from A\n');
  await mkdir(join(docs, 'sub'));
  await writeFile(join(docs, 'sub', 'deep.bin'), Buffer.alloc(200_000, 7));
  const photosKey = (await a.cliOk(['key', 'derive', '--read-only', await a.newKey()])).trim();
  const vaultKey = (await a.cliOk(['key', 'derive', '--encrypted', await a.newKey()])).trim();
  await a.cliOk(['folder', 'add', docs, '--key', await a.newKey(), '--wait']);
  await a.cliOk(['folder', 'add', photos, '--key', photosKey]);
  await a.cliOk(['folder', 'add', vault, '--key', vaultKey]);
});
after(async () => {
  await Promise.all([a.cleanup(), c.cleanup()]);
  await rm(root, { recursive: true, force: true });
});

async function invite(extra: string[] = []): Promise<string> {
  return JSON.parse(await a.cliOk(['device', 'invite', '--json', ...extra])).code as string;
}

let joinedCode = '';

test('a fresh device joins with one code, is approved, and gets every folder with its key type, and syncs', async () => {
  const code = await invite();
  joinedCode = code;
  const cId = (await c.status()).device.id;
  const joining = c.cli(['device', 'join', code, '--into', into], { timeoutMs: 60_000 });
  const pending = await pollUntil(async () => {
    const d = JSON.parse(await a.cliOk(['device', 'list', '--json']));
    return d.pending.find((p: { id: string }) => p.id === cId);
  }, { timeoutMs: 15_000, description: 'C waiting for approval on A' });
  assert.equal(pending.name, 'gamma');
  await a.cliOk(['device', 'approve', cId]);
  const r = await joining;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Linked to alpha/);
  assert.ok(!r.stderr.includes(code.slice(1, 30)) && !r.stdout.includes(code.slice(1, 30)), 'the code is never echoed');
  const s = await c.waitForStatus((st) => st.folders.length === 3, { timeoutMs: SYNC_TIMEOUT_MS, description: 'three folders on C' });
  const byPath = new Map(s.folders.map((f) => [f.path, f.type]));
  assert.equal(byPath.get(join(into, 'a-docs')), 'rw');
  assert.equal(byPath.get(join(into, 'a-photos')), 'ro');
  assert.equal(byPath.get(join(into, 'a-vault')), 'encrypted');
  await c.waitForFolder(join(into, 'a-docs'), (f) => scanSettled(f) && f.localFiles >= 2, { timeoutMs: SYNC_TIMEOUT_MS });
  assert.equal(await readFile(join(into, 'a-docs', 'hello.txt'), 'utf8'), 'hello from A\n');
  assert.equal((await readFile(join(into, 'a-docs', 'sub', 'deep.bin'))).length, 200_000);
  // No peer was typed: C reaches A as a linked device, pinned by id.
  assert.deepEqual(JSON.parse(await readFile(join(c.home, 'config.json'), 'utf8')).peers, []);
  const list = JSON.parse(await c.cliOk(['device', 'list', '--json']));
  assert.ok(list.devices.some((d: { id: string }) => d.id === (list.devices.find((x: { self: boolean }) => !x.self)?.id)));
  assert.equal(list.into, into);
  // The secret never reached a log.
  const secretHex = Buffer.from(parseInviteCode(code).secret).toString('hex');
  for (const d of [a, c]) for (const dp of (d as unknown as { daemons: Set<{ logs(): { stdout: string; stderr: string } }> }).daemons) {
    const logs = dp.logs();
    assert.ok(!logs.stdout.includes(code.slice(0, 40)) && !logs.stderr.includes(code.slice(0, 40)) && !logs.stderr.includes(secretHex), 'no code in logs');
  }
});

test('a folder added on one linked device appears on the other', async () => {
  const notes = join(root, 'c-notes');
  await mkdir(notes);
  await writeFile(join(notes, 'n.txt'), 'from C\n');
  await c.cliOk(['folder', 'add', notes, '--key', await c.newKey()]);
  const landed = join(root, 'home-a', 'c-notes');
  const s = await a.waitForStatus((st) => st.folders.some((f) => f.path === landed), { timeoutMs: SYNC_TIMEOUT_MS, description: 'C\'s folder on A, in A\'s home directory' });
  assert.equal(s.folders.find((x) => x.path === landed)?.type, 'rw');
  await a.waitForFolder(landed, (f) => scanSettled(f) && f.localFiles === 1, { timeoutMs: SYNC_TIMEOUT_MS });
  assert.equal(await readFile(join(landed, 'n.txt'), 'utf8'), 'from C\n');
});

test('a reused, altered or expired code is refused in one line', async () => {
  const reused = await c.cli(['device', 'join', joinedCode, '--into', into]);
  assert.notEqual(reused.code, 0);
  assert.match(reused.stderr.trim(), /already linked|already used/);
  assert.equal(reused.stderr.trim().split('\n').length, 1);

  const d = await TestHome.create({ root, name: 'd', init: init('delta') });
  await d.startDaemon();
  try {
    const fresh = await invite();
    // A typo: the check characters catch it before any connection.
    const typo = fresh.slice(0, 20) + (fresh[20] === 'A' ? 'B' : 'A') + fresh.slice(21);
    const altered = await d.cli(['device', 'join', typo]);
    assert.notEqual(altered.code, 0);
    assert.match(altered.stderr, /check characters do not match/);
    assert.equal(altered.stderr.trim().split('\n').length, 1);
    // Altered on purpose, checksum recomputed: another secret is an unknown invite.
    const parsed = parseInviteCode(fresh);
    const forged = formatInviteCode({ ...parsed, secret: new Uint8Array(32).fill(1) });
    const r1 = await d.cli(['device', 'join', forged]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /does not know this invite code/);
    // Used once (denied), then reused by another device.
    const e = await TestHome.create({ root, name: 'e', init: init('epsilon') });
    await e.startDaemon();
    try {
      const first = d.cli(['device', 'join', fresh]);
      const dId = (await d.status()).device.id;
      await pollUntil(async () => JSON.parse(await a.cliOk(['device', 'list', '--json'])).pending.some((p: { id: string }) => p.id === dId) || undefined,
        { timeoutMs: 10_000, description: 'D pending' });
      await a.cliOk(['device', 'deny', dId]);
      const denied = await first;
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /did not approve/);
      const again = await e.cli(['device', 'join', fresh]);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr.trim(), /already used/);
      assert.equal(again.stderr.trim().split('\n').length, 1);
      // Expired: X's invites live TEST_TTL_MS.
      const x = await TestHome.create({ root, name: 'x', init: init('xi') });
      await x.startDaemon({ env: { SEALSYNC_INVITE_TTL_MS: String(TEST_TTL_MS) } });
      try {
        const old = JSON.parse(await x.cliOk(['device', 'invite', '--json'])).code as string;
        await new Promise((r) => setTimeout(r, TEST_TTL_MS + 200));
        const late = await e.cli(['device', 'join', old]);
        assert.notEqual(late.code, 0);
        assert.match(late.stderr.trim(), /expired/);
        assert.equal(late.stderr.trim().split('\n').length, 1);
        const invites = JSON.parse(await x.cliOk(['device', 'invites', '--json']));
        assert.deepEqual(invites.map((i: { state: string }) => i.state), ['expired']);
        assert.ok(!JSON.stringify(invites).includes(Buffer.from(parseInviteCode(old).secret).toString('hex')), 'no secret listed');
      } finally {
        await x.cleanup();
      }
      const invites = JSON.parse(await a.cliOk(['device', 'invites', '--json']));
      assert.ok(invites.some((i: { state: string }) => i.state === 'used'));
      // Revoked.
      const revokedCode = JSON.parse(await a.cliOk(['device', 'invite', '--json']));
      await a.cliOk(['device', 'revoke', revokedCode.invite.id]);
      const rev = await e.cli(['device', 'join', revokedCode.code]);
      assert.match(rev.stderr.trim(), /revoked/);
    } finally {
      await e.cleanup();
    }
  } finally {
    await d.cleanup();
  }
});

test('a server invite hands over only the encrypted keys of the chosen folders; the server is pinned, listed as a server, never linked', async () => {
  // Its own inviter: A counted the join attempts of the tests above, all from
  // 127.0.0.1, and rightly refuses more within the minute (invite-book.ts).
  const [srv, owner] = await Promise.all([
    TestHome.create({ root, name: 's', init: init('vps') }),
    TestHome.create({ root, name: 'o', init: init('alpha') }),
  ]);
  await Promise.all([srv.startDaemon(), owner.startDaemon()]);
  try {
    const ownDocs = join(root, 'o-docs');
    const ownPhotos = join(root, 'o-photos');
    await Promise.all([mkdir(join(ownDocs, 'sub'), { recursive: true }), mkdir(ownPhotos)]);
    await writeFile(join(ownDocs, 'hello.txt'), 'hello from the owner\n');
    await writeFile(join(ownDocs, 'sub', 'deep.bin'), Buffer.alloc(200_000, 7));
    await owner.cliOk(['folder', 'add', ownDocs, '--key', await owner.newKey(), '--wait']);
    await owner.cliOk(['folder', 'add', ownPhotos, '--key', await owner.newKey()]);
    const created = JSON.parse(await owner.cliOk(['device', 'invite', '--server', ownDocs, '--auto-approve', '--json']));
    assert.equal(created.invite.kind, 'server');
    const store = join(root, 's-store');
    const r = await srv.cli(['device', 'join', created.code, '--into', store]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Serving encrypted folders for alpha/);
    const s = await srv.waitForStatus((st) => st.folders.length === 1, { timeoutMs: SYNC_TIMEOUT_MS, description: 'the server has one folder' });
    assert.equal(s.folders[0]?.type, 'encrypted');
    assert.equal(s.folders[0]?.path, join(store, 'o-docs'));
    const config = JSON.parse(await readFile(join(srv.home, 'config.json'), 'utf8'));
    assert.ok(config.folders.every((f: { key: string }) => f.key.startsWith('E')), 'only encrypted keys on the server');
    const ownerId = (await owner.status()).device.id;
    assert.deepEqual(config.peers.map((p: { deviceId: string }) => p.deviceId), [ownerId], 'the inviter is pinned by id');
    await assert.rejects(readFile(join(srv.home, 'keyring.json')), 'a server holds no keyring');
    await srv.waitForFolder(join(store, 'o-docs'), (f) => f.globalFiles >= 2 && f.needFiles === 0, { timeoutMs: SYNC_TIMEOUT_MS, description: 'the server stores the folder' });
    const list = JSON.parse(await owner.cliOk(['device', 'list', '--json']));
    const sId = (await srv.status()).device.id;
    assert.ok(list.servers.some((d: { id: string }) => d.id === sId));
    assert.ok(!list.devices.some((d: { id: string }) => d.id === sId), 'a server is never linked');
  } finally {
    await Promise.all([srv.cleanup(), owner.cleanup()]);
  }
});

test('after C is unlinked, a folder added on A no longer reaches C, and A refuses C', async () => {
  const cId = (await c.status()).device.id;
  const out = await a.cliOk(['device', 'unlink', cId]);
  assert.match(out, /not taken back/);
  await a.waitForStatus((s) => !s.peers.some((p) => p.id === cId && p.connected), { timeoutMs: 10_000, description: 'C disconnected from A' });
  const later = join(root, 'a-later');
  await mkdir(later);
  await a.cliOk(['folder', 'add', later, '--key', await a.newKey()]);
  // C keeps trying (periodic keyring exchange, redials): give it several chances.
  await new Promise((r) => setTimeout(r, 6000));
  const s = await c.status();
  assert.ok(!s.folders.some((f) => f.path.includes('a-later')), 'the new folder never reached C');
  assert.ok(!(await a.status()).peers.some((p) => p.id === cId && p.connected), 'A keeps no session with C');
  const list = JSON.parse(await a.cliOk(['device', 'list', '--json']));
  assert.ok(list.unlinked.includes(cId));
  assert.ok(!list.devices.some((d: { id: string }) => d.id === cId));
});

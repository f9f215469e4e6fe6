/**
 * `sealsync server setup --root T --invite -` through the real binary: a real
 * inviter daemon A makes server invites (auto-approve, and one that waits for
 * approval), setup joins through a temporary daemon of T's home, and T ends
 * up with encrypted keys only, folders under the store (as the target sees
 * it), A pinned, and every file the service user's. A device invite is
 * refused in one line and stays usable by a device; a garbage code and a dry
 * run change nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, pollUntil, runCli, TestHome, type CliResult } from './helpers/harness.js';
import { makeRoot, snapshot, type Entry } from './helpers/server-root.js';

const asRoot = process.getuid?.() === 0;
const HAS_SYSTEMD = await promisify(execFile)('systemctl', ['--version']).then(() => true, () => false);
const SETUP_TIMEOUT_MS = 120_000;
const init = (name: string) => ['--name', name, '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'];

function setup(root: string, args: string[], input?: string): Promise<CliResult> {
  return runCli(['server', 'setup', '--root', root, '--name', 'vps', ...args], { timeoutMs: SETUP_TIMEOUT_MS, ...(input !== undefined ? { input } : {}) });
}

interface InviteRow { id: string; kind: string; state: string; usedBy: string | null }

describe('server setup --invite against a temporary root', { skip: !asRoot || !HAS_SYSTEMD ? 'needs root and systemctl' : false }, () => {
  let dir: string;
  let root: string;
  let a: TestHome;
  let c: TestHome;
  let docs: string;
  let photos: string;
  let docsKey: string;
  /** T's device id, as the first join reported it. */
  let serverId = '';
  before(async () => {
    dir = await makeTempDir();
    root = await makeRoot();
    [a, c] = await Promise.all([TestHome.create({ root: dir, name: 'a', init: init('alpha') }), TestHome.create({ root: dir, name: 'c', init: init('gamma') })]);
    await mkdir(join(dir, 'home-a'));
    await Promise.all([a.startDaemon({ env: { HOME: join(dir, 'home-a') } }), c.startDaemon()]);
    docs = join(dir, 'docs');
    photos = join(dir, 'photos');
    await Promise.all([mkdir(docs), mkdir(photos)]);
    await writeFile(join(docs, 'hello.txt'), 'hello\n');
    docsKey = await a.newKey();
    await a.cliOk(['folder', 'add', docs, '--key', docsKey, '--wait']);
    await a.cliOk(['folder', 'add', photos, '--key', await a.newKey()]);
  });
  after(async () => {
    await Promise.all([a.cleanup(), c.cleanup()]);
    await rm(dir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  const invite = async (args: string[]): Promise<{ code: string; link: string; invite: InviteRow }> => JSON.parse(await a.cliOk(['device', 'invite', '--json', ...args]));
  const invites = async (): Promise<InviteRow[]> => JSON.parse(await a.cliOk(['device', 'invites', '--json']));
  const config = async (): Promise<{ folders: { path: string; key: string }[]; peers: { address: string; deviceId?: string }[] }> =>
    JSON.parse(await readFile(join(root, 'var/lib/sealsync/config.json'), 'utf8'));

  test('a garbage code, a folder key, an empty stdin and --invite - with --key - are refused in one line before anything is written', async () => {
    const before = await snapshot(root);
    const w = await a.newKey();
    const cases: [string[], string, RegExp][] = [
      [['--invite', '-'], 'Inotacode\n', /invite code/],
      [['--invite', '-'], 'sealsync://join?key=abc\n', /sealsync:\/\/invite/],
      [['--invite', '-'], `${w}\n`, /folder key, not an invite code/],
      [['--invite', '-'], '', /invite code is empty/],
      [['--invite', '-'], 'I'.repeat(10_000), /too long/],
      [['--invite', '-', '--key', '-'], 'I\n', /cannot both read stdin/],
    ];
    for (const [args, input, pattern] of cases) {
      const r = await setup(root, args, input);
      assert.notEqual(r.code, 0, `${args.join(' ')} ${input.slice(0, 20)}`);
      assert.match(r.stderr, /^sealsync: [^\n]+\n$/, input.slice(0, 20));
      assert.match(r.stderr, pattern);
    }
    assert.deepEqual(await snapshot(root), before, 'a refused code wrote something');
  });

  test('--dry-run --invite - prints the join step and writes nothing; the invite stays unused', async () => {
    const before = await snapshot(root);
    const created = await invite(['--server', docs, '--auto-approve']);
    const r = await setup(root, ['--dry-run', '--invite', '-'], `${created.code}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would join the inviting device with the server invite .*waits for approval on the laptop/);
    assert.deepEqual(await snapshot(root), before, 'a dry run wrote something');
    assert.equal((await invites()).find((i) => i.id === created.invite.id)?.state, 'pending', 'a dry run does not use the invite');
    const json = await setup(root, ['--dry-run', '--json', '--invite', '-'], created.link);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).join, null);
    assert.ok(JSON.parse(json.stdout).steps.some((s: string) => s.startsWith('join the inviting device')));
    await a.cliOk(['device', 'revoke', created.invite.id]);
  });

  test('an auto-approved server invite: setup joins, T holds encrypted keys only under the store, owned by the service user', async () => {
    const created = await invite(['--server', docs, '--auto-approve']);
    const r = await setup(root, ['--json', '--invite', '-'], `${created.code}\n`);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.join.kind, 'server');
    assert.equal(out.join.inviter.name, 'alpha');
    assert.deepEqual(out.join.folders, [{ path: '/srv/sealsync/docs', type: 'encrypted' }]);
    const cfg = await config();
    assert.deepEqual(cfg.folders.map((f) => f.path), ['/srv/sealsync/docs'], 'the path as the target sees it');
    assert.ok(cfg.folders.every((f) => f.key.startsWith('E')), 'encrypted keys only');
    const aId = (await a.status()).device.id;
    assert.ok(cfg.peers.some((p) => p.deviceId === aId), 'A is pinned by id');
    const raw = await readFile(join(root, 'var/lib/sealsync/config.json'), 'utf8');
    assert.ok(!raw.includes(docsKey), 'never the write key');
    await assert.rejects(stat(join(root, 'var/lib/sealsync/keyring.json')), 'a server holds no keyring');
    const sId = out.deviceId as string;
    assert.match(sId, /^[A-Z2-7]{7}(-[A-Z2-7]{7})+$/);
    serverId = sId;
    const list = JSON.parse(await a.cliOk(['device', 'list', '--json']));
    assert.ok(list.servers.some((d: { id: string }) => d.id === sId), 'A lists T as a server');
    assert.ok(!list.devices.some((d: { id: string }) => d.id === sId), 'never a linked device');
    await checkOwnership();
    await assert.rejects(stat(join(root, 'var/lib/sealsync/control.sock')), 'the temporary daemon stopped');
    await assert.rejects(stat(join(root, 'var/lib/sealsync/daemon.lock')), 'and released its lock');
  });

  /** Everything under the home and the store is the service user's; directories 0700, key and config 0600. */
  async function checkOwnership(): Promise<void> {
    const snap = await snapshot(root);
    const home = snap.get('var/lib/sealsync') as Entry;
    assert.ok(home.uid > 0 && home.uid < 1000, `a system uid: ${home.uid}`);
    assert.equal(home.mode, 0o700);
    for (const [p, e] of snap) {
      if (!p.startsWith('var/lib/sealsync/') && !p.startsWith('srv/sealsync')) continue;
      assert.deepEqual([e.uid, e.gid], [home.uid, home.gid], `${p} is owned by the service user`);
      assert.equal(e.mode & 0o077 & ~(p.endsWith('device-cert.pem') ? 0o044 : 0), 0, `${p} is private (${e.mode.toString(8)})`);
    }
    for (const d of ['srv/sealsync', 'srv/sealsync/docs']) assert.equal((snap.get(d) as Entry).mode, 0o700, d);
    assert.equal((snap.get('var/lib/sealsync/config.json') as Entry).mode, 0o600);
  }

  test('an invite that waits for approval: setup prints the device id to approve, waits, and joins once A approves', async () => {
    const created = await invite(['--server', photos]);
    const running = setup(root, ['--invite', '-'], created.link);
    const pending = await pollUntil(async () => {
      const d = JSON.parse(await a.cliOk(['device', 'list', '--json']));
      return d.pending.find((p: { kind: string }) => p.kind === 'server') as { id: string; name: string } | undefined;
    }, { timeoutMs: 60_000, description: 'the server waiting for approval on A' });
    assert.equal(pending.name, 'vps');
    assert.equal(pending.id, serverId, 'the server that waits is T');
    await a.cliOk(['device', 'approve', pending.id]);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const idLine = r.stdout.indexOf(`sealsync device approve ${pending.id}`);
    assert.ok(idLine > 0, `the approve hint names the server's id: ${r.stdout}`);
    assert.ok(idLine < r.stdout.indexOf('Serving encrypted folders for alpha'), 'the hint comes before the result');
    assert.match(r.stdout, /^ {2}\/srv\/sealsync\/photos \(encrypted\)$/m);
    const cfg = await config();
    assert.deepEqual(cfg.folders.map((f) => f.path).sort(), ['/srv/sealsync/docs', '/srv/sealsync/photos']);
    assert.ok(cfg.folders.every((f) => f.key.startsWith('E')));
    await checkOwnership();
  });

  test('a device invite is refused in one line that says what to do, and a device can still use it', async () => {
    const created = await invite(['--auto-approve']);
    const before = (await config()).folders.length;
    const r = await setup(root, ['--invite', '-'], `${created.code}\n`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^sealsync: [^\n]*device invite[^\n]*sealsync device invite --server PATH[^\n]*\n$/);
    assert.equal((await invites()).find((i) => i.id === created.invite.id)?.state, 'pending', 'the refusal did not use the invite');
    assert.equal((await config()).folders.length, before, 'the server took nothing');
    await assert.rejects(stat(join(root, 'var/lib/sealsync/keyring.json')), 'no keyring');
    const into = join(dir, 'c-sync');
    await mkdir(into);
    const joined = await c.cli(['device', 'join', created.code, '--into', into], { timeoutMs: 60_000 });
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /Linked to alpha/);
    assert.equal((await invites()).find((i) => i.id === created.invite.id)?.state, 'used');
  });
});

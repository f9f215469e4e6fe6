/**
 * `sealsync server setup` through the real binary against a temporary root
 * (useradd --prefix and systemctl --root work there offline): every file it
 * writes, with its mode and owner, and nothing else; a re-run keeps the
 * identity and the port; `--dry-run` changes nothing and prints a unit that
 * `systemd-analyze verify` accepts; `--undo` removes the service only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, runCli, type CliResult } from './helpers/harness.js';
import { makeRoot, snapshot, type Entry } from './helpers/server-root.js';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;
const HAS_SYSTEMD = await run('systemctl', ['--version']).then(() => true, () => false);
const UNIT = 'etc/systemd/system/sealsync.service';
const WANTS = 'etc/systemd/system/multi-user.target.wants/sealsync.service';

function setup(root: string, args: string[], input?: string): Promise<CliResult> {
  return runCli(['server', 'setup', '--root', root, ...args], input !== undefined ? { input } : {});
}

async function newEncryptedKey(): Promise<string> {
  const w = (await runCli(['key', 'new'])).stdout.trim();
  return (await runCli(['key', 'derive', '--encrypted', w])).stdout.trim();
}

async function verifyUnit(text: string): Promise<void> {
  const dir = await makeTempDir('ss-unit-');
  try {
    await writeFile(join(dir, 'sealsync.service'), text);
    const r = await run('systemd-analyze', ['verify', join(dir, 'sealsync.service')]).catch((e: { stdout: string; stderr: string }) => ({ ...e, failed: true }));
    assert.ok(!('failed' in r), `systemd-analyze verify failed: ${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'systemd-analyze verify warned');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('server setup against a temporary root', { skip: !asRoot || !HAS_SYSTEMD ? 'needs root and systemctl' : false }, () => {
  let root: string;
  let initial: Map<string, Entry>;
  let port: number;
  let deviceKey: string;
  const keys: string[] = [];
  before(async () => {
    root = await makeRoot();
    initial = await snapshot(root);
    keys.push(await newEncryptedKey(), await newEncryptedKey());
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('--dry-run changes nothing and prints a unit systemd accepts and the firewall rule', async () => {
    const r = await setup(root, ['--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(await snapshot(root), initial, 'a dry run wrote something');
    assert.equal(plan.dryRun, true);
    assert.equal(plan.dashboard, null);
    assert.match(plan.firewall.ufw, new RegExp(`^ufw allow ${plan.syncPort}/tcp`));
    assert.match(plan.unit.text, /^User=sealsync$/m);
    assert.match(plan.unit.text, new RegExp(`^ExecStart=${process.execPath} \\S+/bin/sealsync\\.js --home /var/lib/sealsync start$`, 'm'));
    await verifyUnit(plan.unit.text);
    const human = await setup(root, ['--dry-run']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /ufw allow \d+\/tcp/);
    assert.match(human.stdout, /^ExecStart=/m);
    assert.deepEqual(await snapshot(root), initial);
  });

  test('setup writes exactly the user, the home, the store and the enabled unit, with modes and owners', async () => {
    const r = await setup(root, ['--name', 'vps', '--key', keys[0] as string]);
    assert.equal(r.code, 0, r.stderr);
    const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
    const line = /^sealsync:[^:]*:(\d+):(\d+):[^:]*:\/var\/lib\/sealsync:\/usr\/sbin\/nologin$/m.exec(passwd);
    assert.ok(line, `no sealsync user in ${passwd}`);
    const uid = Number(line[1]);
    const gid = Number(line[2]);
    assert.ok(uid > 0 && uid < 1000, `a system uid: ${uid}`);
    assert.match(await readFile(join(root, 'etc/group'), 'utf8'), new RegExp(`^sealsync:[^:]*:${gid}:`, 'm'));

    const config = JSON.parse(await readFile(join(root, 'var/lib/sealsync/config.json'), 'utf8'));
    port = Number(/^0\.0\.0\.0:(\d+)$/.exec(config.listen)?.[1]);
    assert.ok(port > 0, config.listen);
    assert.match(r.stdout, new RegExp(`ufw allow ${port}/tcp`));
    assert.equal(config.device.name, 'vps');
    assert.equal(config.discovery, false);
    assert.equal(config.webui.enabled, false);
    const folderDir = config.folders[0]?.path as string;
    assert.match(folderDir, /^\/srv\/sealsync\/[a-z2-7-]+$/);
    assert.equal(config.folders.length, 1);
    assert.equal(config.folders[0].key, keys[0]);

    const now = await snapshot(root);
    const written = new Map([...now].filter(([p, e]) => JSON.stringify(initial.get(p)) !== JSON.stringify(e)));
    const owned = { uid, gid };
    const rootOwned = { uid: 0, gid: 0 };
    const expected: Record<string, Partial<Entry>> = {
      'var': { type: 'dir', mode: 0o755, ...rootOwned },
      'var/lib': { type: 'dir', mode: 0o755, ...rootOwned },
      'var/lib/sealsync': { type: 'dir', mode: 0o700, ...owned },
      'var/lib/sealsync/config.json': { type: 'file', mode: 0o600, ...owned },
      'var/lib/sealsync/device-key.pem': { type: 'file', mode: 0o600, ...owned },
      'var/lib/sealsync/device-cert.pem': { type: 'file', mode: 0o644, ...owned },
      'srv': { type: 'dir', mode: 0o755, ...rootOwned },
      'srv/sealsync': { type: 'dir', mode: 0o700, ...owned },
      [folderDir.slice(1)]: { type: 'dir', mode: 0o700, ...owned },
      'etc/systemd': { type: 'dir', mode: 0o755, ...rootOwned },
      'etc/systemd/system': { type: 'dir', mode: 0o755, ...rootOwned },
      [UNIT]: { type: 'file', mode: 0o644, ...rootOwned },
      'etc/systemd/system/multi-user.target.wants': { type: 'dir', mode: 0o755, ...rootOwned },
      [WANTS]: { type: 'link', target: '/etc/systemd/system/sealsync.service', ...rootOwned },
    };
    const accountFiles = /^etc\/(passwd|group|shadow|gshadow)-?$|^etc$/;
    for (const [p, e] of written) {
      if (accountFiles.test(p)) continue;
      const want = expected[p];
      assert.ok(want, `setup wrote an unexpected ${e.type} ${p}`);
      const got: Partial<Entry> = { type: e.type, uid: e.uid, gid: e.gid, ...(e.type === 'link' ? { target: e.target } : { mode: e.mode }) };
      assert.deepEqual(got, want, p);
    }
    for (const p of Object.keys(expected)) assert.ok(written.has(p), `setup did not write ${p}`);
    for (const f of ['etc/shadow', 'etc/gshadow']) assert.equal(((now.get(f) as Entry).mode & 0o004), 0, `${f} is not world-readable`);

    const unit = await readFile(join(root, UNIT), 'utf8');
    assert.match(unit, /^User=sealsync$/m);
    assert.match(unit, /^Group=sealsync$/m);
    assert.match(unit, /^ReadWritePaths=\/var\/lib\/sealsync -\/srv\/sealsync$/m);
    assert.match(unit, /^ProtectSystem=strict$/m, 'the hardening comes from contrib/sealsync.service');
    const template = await readFile(new URL('../../contrib/sealsync.service', import.meta.url), 'utf8');
    const body = (t: string): string[] => t.slice(t.indexOf('[Unit]')).split('\n').filter((l) => !/^(User|Group|ExecStart|ReadWritePaths)=/.test(l));
    assert.deepEqual(body(unit), body(template), 'the unit is the template with four lines substituted');
    await verifyUnit(unit);
    deviceKey = await readFile(join(root, 'var/lib/sealsync/device-key.pem'), 'utf8');
  });

  test('bad input changes nothing: a read-write key, a relative root, a port for an existing home', async () => {
    const before = await snapshot(root);
    const w = (await runCli(['key', 'new'])).stdout.trim();
    const cases: [string[], string | undefined, RegExp][] = [
      [['--key', '-'], `${w}\n`, /encrypted keys only/],
      [['--key', 'Enotakey'], undefined, /key/],
      [['--key', '-'], '\n# nothing\n', /no key on stdin/],
      [['--port', String(port === 20000 ? 20001 : 20000)], undefined, /already syncs on port/],
      [['--port', '70000'], undefined, /--port must be 1-65535/],
    ];
    for (const [args, input, pattern] of cases) {
      const r = await setup(root, args, input);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /^sealsync: [^\n]+\n$/, args.join(' '));
      assert.match(r.stderr, pattern);
    }
    const rel = await runCli(['server', 'setup', '--root', 'relative/dir']);
    assert.equal(rel.code, 2, rel.stderr);
    assert.deepEqual(await snapshot(root), before);
  });

  test('a re-run with --ui and keys on stdin keeps the identity and the port', async () => {
    const r = await setup(root, ['--ui', '--key', '-'], `${keys[0]}\n\n${keys[1]}\n`);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(await readFile(join(root, 'var/lib/sealsync/config.json'), 'utf8'));
    assert.equal(config.listen, `0.0.0.0:${port}`);
    assert.equal(await readFile(join(root, 'var/lib/sealsync/device-key.pem'), 'utf8'), deviceKey);
    assert.equal(config.webui.enabled, true);
    const uiPort = Number(/^127\.0\.0\.1:(\d+)$/.exec(config.webui.listen)?.[1]);
    assert.ok(uiPort > 0 && uiPort !== port);
    assert.match(r.stdout, new RegExp(`ssh -N -L ${uiPort}:127\\.0\\.0\\.1:${uiPort} `));
    assert.deepEqual(config.folders.map((f: { key: string }) => f.key), keys, 'the known key is not added twice');
    const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
    assert.equal(passwd.match(/^sealsync:/gm)?.length, 1);
    const snap = await snapshot(root);
    const uid = (snap.get('var/lib/sealsync') as Entry).uid;
    for (const [p, e] of snap) {
      if (p.startsWith('var/lib/sealsync/') || p.startsWith('srv/sealsync/')) assert.equal(e.uid, uid, `${p} is owned by the service user`);
    }
    assert.equal((snap.get('var/lib/sealsync/config.json') as Entry).mode, 0o600);
  });

  test('--undo removes the service and keeps the user, the identity and the data', async () => {
    const r = await setup(root, ['--undo']);
    assert.equal(r.code, 0, r.stderr);
    const snap = await snapshot(root);
    assert.equal(snap.has(UNIT), false);
    assert.equal(snap.has(WANTS), false);
    assert.ok(snap.has('var/lib/sealsync/device-key.pem'));
    assert.ok(snap.has('srv/sealsync'));
    assert.match(r.stdout, /userdel sealsync/);
    const again = await setup(root, ['--undo']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /No sealsync service is installed/);
  });
});

describe('server setup outside a test root', () => {
  test('a real run needs root; a dry run does not', { skip: !asRoot ? 'needs root to switch to nobody' : false }, async () => {
    const nobody = { uid: 65534, gid: 65534 };
    const r = await runCli(['server', 'setup'], nobody);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^sealsync: server setup changes the system: run it as root/);
    const dry = await runCli(['server', 'setup', '--dry-run', '--json'], nobody);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).dryRun, true);
  });
});

/**
 * The daemon on one device, through the real CLI: init, start, status, stop,
 * the home lock, stale state after kill -9, a corrupt config, and one-line
 * errors for bad input that leave the config untouched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { TestHome, type DaemonProcess } from './helpers/harness.js';
import { PICK_PORT_MAX, PICK_PORT_MIN } from '../../src/daemon/pick-port.js';

const ONE_LINE = /^sealsync: [^\n]+\n$/;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

describe('daemon lifecycle', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create({ init: null }); });
  after(() => h.cleanup());

  test('init creates a 0600 config and key, picks a loopback port once', async () => {
    const out = await h.cliOk(['init', '--name', 'alpha', '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery']);
    assert.match(out, /Device id: [A-Z2-7]{7}(-[A-Z2-7]{7}){7}\n/);
    assert.ok(out.includes(h.home), 'init says where the home is');
    assert.equal((await stat(h.paths.config)).mode & 0o777, 0o600);
    assert.equal((await stat(h.paths.deviceKey)).mode & 0o777, 0o600);
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    assert.equal(config.device.name, 'alpha');
    assert.equal(config.discovery, false);
    const syncPort = Number(/^127\.0\.0\.1:(\d+)$/.exec(config.listen)?.[1]);
    const uiPort = Number(/^127\.0\.0\.1:(\d+)$/.exec(config.webui.listen)?.[1]);
    assert.ok(syncPort > 0 && uiPort > 0 && syncPort !== uiPort, `ports ${syncPort} ${uiPort}`);
    // Below the kernel's ephemeral range, where no outgoing connection can hold them by the time of start.
    for (const port of [syncPort, uiPort]) assert.ok(port >= PICK_PORT_MIN && port <= PICK_PORT_MAX, `port ${port}`);
  });

  test('init refuses an initialised home with one line, changing nothing', async () => {
    const before = await readFile(h.paths.config, 'utf8');
    const r = await h.cli(['init']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /already initialised/);
    assert.equal(await readFile(h.paths.config, 'utf8'), before);
  });

  let daemon: DaemonProcess;
  test('start, then status --json reports the device, listen address and no folders', async () => {
    daemon = await h.startDaemon();
    const r = await h.cli(['status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    assert.equal(s.device.name, 'alpha');
    assert.match(s.device.id, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/);
    assert.deepEqual(s.device.listen, [`tcp://${config.listen}`]);
    assert.deepEqual(s.folders, []);
    assert.deepEqual(s.peers, []);
    assert.equal((await stat(h.paths.socket)).mode & 0o777, 0o600);
    assert.equal(Number((await readFile(h.paths.lock, 'utf8')).trim()), daemon.pid);
    const human = await h.cliOk(['status']);
    assert.match(human, /^Device {2}alpha {2}/);
  });

  test('a second daemon on the same home fails with one line', async () => {
    const r = await h.cli(['start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /already running/);
    assert.ok(daemon.running, 'the first daemon is unaffected');
    await h.status();
  });

  test('stop removes socket and lock and leaves no temp files', async () => {
    const code = await daemon.stop();
    assert.equal(code, 0);
    assert.equal(await exists(h.paths.socket), false);
    assert.equal(await exists(h.paths.lock), false);
    const { readdir } = await import('node:fs/promises');
    const leftovers = (await readdir(h.home)).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
    const r = await h.cli(['status']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not running/);
  });

  test('SIGTERM stops cleanly too', async () => {
    const d = await h.startDaemon();
    assert.equal(await d.signal('SIGTERM'), 0);
    assert.equal(await exists(h.paths.socket), false);
    assert.equal(await exists(h.paths.lock), false);
  });

  test('after kill -9 the stale lock and socket are taken over', async () => {
    const d = await h.startDaemon();
    await d.kill9();
    assert.equal(await exists(h.paths.lock), true, 'kill -9 leaves the lock');
    assert.equal(await exists(h.paths.socket), true, 'kill -9 leaves the socket');
    const d2 = await h.startDaemon();
    assert.equal((await h.status()).device.name, 'alpha');
    assert.equal(await d2.stop(), 0);
  });
});

describe('start on a --home that holds no home', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create({ init: null }); });
  after(() => h.cleanup());

  // Only the default home is created on a first run (test/e2e/cli.test.ts): a
  // mistyped --home must never become a new device.
  test('refuses with one line and creates nothing', async () => {
    const r = await h.cli(['start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /no sealsync home at .*`sealsync --home \S+ init`/);
    assert.equal(await exists(h.home), false);
  });
});

describe('a port held by another program', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create({ init: ['--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] }); });
  after(() => h.cleanup());

  async function startWhileHeld(configured: string): Promise<{ code: number; stderr: string }> {
    const port = Number(/:(\d+)$/.exec(configured)?.[1]);
    const holder = createServer();
    await new Promise<void>((resolve, reject) => { holder.once('error', reject); holder.listen({ host: '127.0.0.1', port }, resolve); });
    try {
      return await h.cli(['start']);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }

  test('the sync port: one line naming the port and where to change it; nothing left behind', async () => {
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    const r = await startWhileHeld(config.listen);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.ok(r.stderr.includes(`cannot listen on ${config.listen}: the port is in use by another program`), r.stderr);
    assert.ok(r.stderr.includes(`"listen" in ${h.paths.config}`), r.stderr);
    assert.equal(await exists(h.paths.lock), false);
    assert.equal(await exists(h.paths.socket), false);
  });

  test('the dashboard port: one line naming the setting and --ui-listen', async () => {
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    const r = await startWhileHeld(config.webui.listen);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.ok(r.stderr.includes(`the dashboard cannot listen on ${config.webui.listen}: the port is in use by another program`), r.stderr);
    assert.match(r.stderr, /"webui\.listen" in config\.json, or start with --ui-listen/);
    assert.equal(await exists(h.paths.lock), false);
    assert.equal(await exists(h.paths.socket), false);
  });
});

describe('corrupt config', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create(); });
  after(() => h.cleanup());

  test('a JSON syntax error names the line and the file is not overwritten', async () => {
    const good = await readFile(h.paths.config, 'utf8');
    const lines = good.split('\n');
    const at = lines.findIndex((l) => l.includes('"discovery"'));
    lines[at] = '  "discovery": tru,';
    const bad = lines.join('\n');
    await writeFile(h.paths.config, bad, { mode: 0o600 });
    const r = await h.cli(['start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, new RegExp(`config\\.json line ${at + 1}:`));
    assert.equal(await readFile(h.paths.config, 'utf8'), bad);
    assert.equal(await exists(h.paths.lock), false, 'a failed start releases the lock');
  });

  test('a schema error names the line and the field', async () => {
    const good = JSON.parse(await readFile(h.paths.config, 'utf8').then((t) => t.replace('tru,', 'true,')));
    good.folders = [{ path: 'relative/dir', key: 'x' }];
    const text = JSON.stringify(good, null, 2);
    await writeFile(h.paths.config, text, { mode: 0o600 });
    const line = text.split('\n').findIndex((l) => l.includes('"relative/dir"')) + 1;
    const r = await h.cli(['start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, new RegExp(`config\\.json line ${line}: folders\\[0\\]\\.path: must be an absolute path`));
    assert.equal(await readFile(h.paths.config, 'utf8'), text);
  });
});

describe('bad folder and peer input', () => {
  let h: TestHome;
  let dir: string;
  let key: string;
  before(async () => {
    h = await TestHome.create();
    dir = join(h.root, 'shared');
    await mkdir(join(dir, 'inner'), { recursive: true });
    await writeFile(join(h.root, 'plain-file'), 'x');
    await mkdir(join(h.root, 'other'));
    key = (await h.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
    await h.startDaemon();
    await h.cliOk(['folder', 'add', dir, '--key', key]);
  });
  after(() => h.cleanup());

  function oneCharChanged(k: string): string {
    const i = Math.floor(k.length / 2);
    return k.slice(0, i) + (k[i] === 'A' ? 'B' : 'A') + k.slice(i + 1);
  }

  const cases: [string, () => string[], RegExp][] = [
    ['missing path', () => ['folder', 'add', join(h.root, 'nope'), '--key', key], /does not exist/],
    ['path is a file', () => ['folder', 'add', join(h.root, 'plain-file'), '--key', key], /is not a directory/],
    ['path inside another folder', () => ['folder', 'add', join(dir, 'inner'), '--key', key], /overlaps the shared folder/],
    ['path containing another folder', () => ['folder', 'add', h.root, '--key', key], /overlaps/],
    ['wrong key (one character changed)', () => ['folder', 'add', join(h.root, 'other'), '--key', oneCharChanged(key)], /checksum|not one of/],
    ['bad peer address', () => ['peer', 'add', 'tcp://no port'], /address/],
    ['peer address with another scheme', () => ['peer', 'add', 'http://127.0.0.1:22000'], /only tcp:\/\//],
  ];
  // None of these may change the config, so they run side by side.
  describe('each a one-line error', { concurrency: 4 }, () => {
    for (const [name, args, message] of cases) {
      test(`${name}: one-line error, non-zero exit, config unchanged`, async () => {
        const before = await readFile(h.paths.config, 'utf8');
        const r = await h.cli(args());
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, ONE_LINE);
        assert.match(r.stderr, message);
        assert.equal(await readFile(h.paths.config, 'utf8'), before);
      });
    }
  });

  test('share refuses to derive upward from a read-only folder', async () => {
    const ro = await h.cliOk(['folder', 'share', dir, '--type', 'ro', '--qr']);
    assert.match(ro, /^R[A-Z2-7]+\n/);
    assert.match(ro, /[\u2580-\u259f]/, 'a terminal QR code follows the key');
    const roDir = join(h.root, 'other');
    const roKey = (await h.cliOk(['key', 'derive', '--read-only', (await h.cliOk(['key', 'new'])).split('\n')[0] ?? ''])).split('\n')[0] ?? '';
    // `--key -` reads the key from stdin, so it never shows in the process list.
    await h.cliOk(['folder', 'add', roDir, '--key', '-'], { input: `${roKey}\n` });
    const before = await readFile(h.paths.config, 'utf8');
    const r = await h.cli(['folder', 'share', roDir, '--type', 'rw']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /cannot give a read-write key/);
    assert.equal(await readFile(h.paths.config, 'utf8'), before);
    const enc = (await h.cliOk(['folder', 'share', roDir, '--type', 'encrypted'])).trim();
    assert.match(enc, /^E/);
  });

  test('config keeps exactly the valid folders', async () => {
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    assert.equal(config.folders.length, 2);
    const list = JSON.parse(await h.cliOk(['folder', 'list', '--json']));
    assert.deepEqual(list.map((f: { type: string }) => f.type).sort(), ['ro', 'rw']);
    assert.ok(!JSON.stringify(list).includes(key), 'folder list never shows a key');
    // Exit 3: both folders are shared with no device yet (docs/daemon.md, status exit codes).
    const r = await h.cli(['status', '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!r.stdout.includes(key), 'status never shows a key');
  });
});

describe('unreadable directory', () => {
  // Root reads anything regardless of mode, so as root the daemon runs as
  // `nobody` (uid/gid 65534); as any other user it runs as that user.
  const asRoot = process.getuid?.() === 0;
  let h: TestHome;
  before(async () => {
    h = await TestHome.create(asRoot ? { asUser: { uid: 65534, gid: 65534 } } : {});
    await h.startDaemon();
  });
  after(() => h.cleanup());

  test('folder add of a directory the daemon cannot list: one line, config unchanged', async () => {
    const { chmod, chown } = await import('node:fs/promises');
    const locked = join(h.root, 'locked');
    await mkdir(locked);
    await writeFile(join(locked, 'secret'), 'x');
    if (asRoot) await chown(locked, 0, 0);
    await chmod(locked, 0o300); // searchable/writable but not listable
    const key = (await h.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
    const before = await readFile(h.paths.config, 'utf8');
    const r = await h.cli(['folder', 'add', locked, '--key', key]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /cannot be read/);
    assert.equal(await readFile(h.paths.config, 'utf8'), before);
  });
});

/**
 * The dashboard's safety against a real daemon: login only through a
 * one-time URL or the password, CSRF on every change, DNS-rebinding and
 * cross-origin requests refused, the password stored only as a scrypt hash,
 * no HTTP port at all with the dashboard off, and no unsafe listen address.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TestHome, makeTempDir, type DaemonProcess } from './helpers/harness.js';

const ONE_LINE = /^sealsync: [^\n]+\n$/;

interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** node:http rather than fetch: fetch will not send a forged Host header. */
function http(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; headersOnly?: boolean } = {}): Promise<HttpResult> {
  const url = new URL(path, base);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, method, path: url.pathname + url.search, timeout: 10_000,
      headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...opts.headers },
    }, (res) => {
      // A stream (SSE) may send nothing for a while: the status and headers are what we check.
      if (opts.headersOnly) { res.destroy(); resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }); return; }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** TCP ports a process listens on, from /proc (sockets it holds x LISTEN rows of /proc/net/tcp{,6}). */
async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) inodes.add(m[1]);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9] ?? '')) continue;
      ports.push(parseInt((cols[1] ?? ':0').split(':')[1] ?? '0', 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

describe('dashboard security against a real daemon', () => {
  let h: TestHome;
  let daemon: DaemonProcess;
  let base: string;
  let host: string;

  before(async () => {
    h = await TestHome.create({ init: ['--name', 'sec', '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] });
    daemon = await h.startDaemon();
    const url = (await h.status()).ui?.url;
    assert.ok(url, 'status reports the dashboard URL');
    base = url;
    host = new URL(base).host;
  });
  after(() => h.cleanup());

  async function loginWithUiCommand(): Promise<{ cookie: string; csrf: string }> {
    const printed = (await h.cliOk(['ui'])).trim();
    const m = /^(http:\/\/127\.0\.0\.1:\d+)\/login#token=([A-Za-z0-9_-]{43})$/.exec(printed);
    assert.ok(m, `ui prints a one-time URL: ${printed}`);
    assert.equal(m[1], base);
    const res = await http(base, 'POST', '/api/login', { body: { token: m[2] } });
    assert.equal(res.status, 200, res.body);
    const cookie = String(res.headers['set-cookie']).split(';')[0] as string;
    return { cookie, csrf: JSON.parse(res.body).csrfToken };
  }

  test('the dashboard listens on loopback only and serves the app with the security headers', async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await http(base, 'GET', '/');
    assert.ok(page.status === 200 || page.status === 503, `page status ${page.status}`);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
  });

  test('no session: every API route answers 401', async () => {
    for (const [method, path] of [['GET', '/api/status'], ['GET', '/api/folders'], ['GET', '/api/settings'], ['GET', '/api/events'], ['POST', '/api/stop']] as const) {
      const res = await http(base, method, path, method === 'POST' ? { body: {} } : {});
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(JSON.parse(res.body).error.code, 'ERR_UNAUTHORIZED');
    }
    assert.ok(daemon.running);
  });

  test('a one-time URL works once; the session reads the API and the event stream', async () => {
    const printed = (await h.cliOk(['ui'])).trim();
    const token = printed.split('#token=')[1] as string;
    const first = await http(base, 'POST', '/api/login', { body: { token } });
    assert.equal(first.status, 200);
    assert.match(String(first.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    const again = await http(base, 'POST', '/api/login', { body: { token } });
    assert.equal(again.status, 401);
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
    const status = await http(base, 'GET', '/api/status', { headers: { cookie } });
    assert.equal(status.status, 200);
    assert.equal(JSON.parse(status.body).device.name, 'sec');
    const events = await http(base, 'GET', '/api/events', { headers: { cookie }, headersOnly: true });
    assert.equal(events.status, 200);
    assert.match(String(events.headers['content-type']), /^text\/event-stream/);
    assert.match(String(events.headers['content-security-policy']), /default-src 'self'/);
  });

  test('POST/DELETE/PATCH without the CSRF token are 403 and change nothing', async () => {
    const { cookie, csrf } = await loginWithUiCommand();
    const dir = await makeTempDir('ss-f-');
    const keyRes = await http(base, 'POST', '/api/keys/new', { headers: { cookie, 'x-csrf-token': csrf }, body: {} });
    assert.equal(keyRes.status, 200);
    const key = JSON.parse(keyRes.body).key as string;
    assert.match(key, /^W/);
    const add = await http(base, 'POST', '/api/folders', { headers: { cookie }, body: { path: dir, key } });
    assert.equal(add.status, 403);
    assert.equal(JSON.parse(add.body).error.code, 'ERR_CSRF');
    const patch = await http(base, 'PATCH', '/api/settings', { headers: { cookie, 'x-csrf-token': 'forged' }, body: { device: { name: 'pwned' } } });
    assert.equal(patch.status, 403);
    const stop = await http(base, 'POST', '/api/stop', { headers: { cookie }, body: {} });
    assert.equal(stop.status, 403);
    const s = await h.status();
    assert.deepEqual(s.folders, []);
    assert.equal(s.device.name, 'sec');
    assert.ok(daemon.running);
    const ok = await http(base, 'POST', '/api/folders', { headers: { cookie, 'x-csrf-token': csrf }, body: { path: dir, key } });
    assert.equal(ok.status, 201, ok.body);
    const removed = await http(base, 'DELETE', '/api/folders', { headers: { cookie }, body: { path: dir } });
    assert.equal(removed.status, 403);
    assert.equal((await h.status()).folders.length, 1);
  });

  test('Host: evil.example (DNS rebinding) and a foreign Origin are rejected', async () => {
    const { cookie, csrf } = await loginWithUiCommand();
    const rebound = await http(base, 'GET', '/api/status', { headers: { host: 'evil.example', cookie } });
    assert.equal(rebound.status, 421);
    const reboundPort = await http(base, 'GET', '/api/status', { headers: { host: `evil.example:${new URL(base).port}`, cookie } });
    assert.equal(reboundPort.status, 421);
    const page = await http(base, 'GET', '/', { headers: { host: 'evil.example' } });
    assert.equal(page.status, 421);
    const foreign = await http(base, 'PATCH', '/api/settings', { headers: { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' }, body: { device: { name: 'pwned' } } });
    assert.equal(foreign.status, 403);
    assert.equal(JSON.parse(foreign.body).error.code, 'ERR_ORIGIN');
    assert.equal((await h.status()).device.name, 'sec');
    const own = await http(base, 'GET', '/api/status', { headers: { host, cookie, origin: base } });
    assert.equal(own.status, 200);
  });

  test('passwd stores only a scrypt hash; the password then logs in, a wrong one does not', async () => {
    const password = 'plain-text-password-42';
    const out = await h.cliOk(['passwd'], { input: `${password}\n` });
    assert.match(out, /password set/i);
    const configText = await readFile(h.paths.config, 'utf8');
    assert.ok(!configText.includes(password), 'no plaintext password in config');
    assert.match(JSON.parse(configText).webui.passwordHash, /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    const good = await http(base, 'POST', '/api/login', { body: { password } });
    assert.equal(good.status, 200);
    const bad = await http(base, 'POST', '/api/login', { body: { password: 'not-the-password' } });
    assert.equal(bad.status, 401);
    assert.ok(!daemon.logs().stdout.includes(password), 'the password is never logged');
    assert.match(daemon.logs().stdout, /dashboard login failed/);
    const short = await h.cli(['passwd'], { input: 'short\n' });
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, ONE_LINE);
    const empty = await h.cli(['passwd'], { input: '' });
    assert.notEqual(empty.code, 0);
  });

  test('logout ends the session', async () => {
    const { cookie, csrf } = await loginWithUiCommand();
    const out = await http(base, 'POST', '/api/logout', { headers: { cookie, 'x-csrf-token': csrf }, body: {} });
    assert.equal(out.status, 200);
    const after = await http(base, 'GET', '/api/status', { headers: { cookie } });
    assert.equal(after.status, 401);
  });
});

describe('dashboard off and unsafe addresses', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create({ init: ['--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'] }); });
  after(() => h.cleanup());

  test('webui.enabled false: no TCP port but the sync port; `sealsync ui` says the dashboard is off', async () => {
    const config = JSON.parse(await readFile(join(h.home, 'config.json'), 'utf8'));
    assert.equal(config.webui.enabled, false);
    const syncPort = Number(String(config.listen).split(':').pop());
    const d = await h.startDaemon();
    const ports = await listeningPorts(d.pid);
    assert.ok(ports.every((p) => p === syncPort), `listening ports ${ports.join(',')} (sync ${syncPort})`);
    assert.equal((await h.status()).ui, undefined);
    const ui = await h.cli(['ui']);
    assert.notEqual(ui.code, 0);
    assert.match(ui.stderr, ONE_LINE);
    assert.match(ui.stderr, /disabled/);
    await d.stop();
  });

  test('start --ui-listen 0.0.0.0:… without HTTPS and a password fails with one line', async () => {
    const config = JSON.parse(await readFile(h.paths.config, 'utf8'));
    config.webui.enabled = true;
    await import('node:fs/promises').then((fs) => fs.writeFile(h.paths.config, JSON.stringify(config), { mode: 0o600 }));
    const r = await runStart(h, ['--ui-listen', '0.0.0.0:0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /HTTPS and a password/);
    // With a password but still no HTTPS: refused too.
    await h.cliOk(['passwd'], { input: 'a good long password\n' });
    const r2 = await runStart(h, ['--ui-listen', '0.0.0.0:0']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, ONE_LINE);
  });
});

async function runStart(h: TestHome, args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await h.cli(['start', ...args], { timeoutMs: 20_000 });
  return { code: r.code, stderr: r.stderr };
}

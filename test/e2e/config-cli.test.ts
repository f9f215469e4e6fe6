/**
 * `sealsync config get|set` through the real binary: every kind of value,
 * spelled right and wrong; a refused value leaves config.json byte for byte;
 * with the daemon running the change goes through it; the metrics endpoint
 * that `config set metrics.enabled true` turns on answers with its token only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { pickFreePort } from '../../src/daemon/pick-port.js';
import { TestHome } from './helpers/harness.js';

const ONE_LINE = /^sealsync: [^\n]+\n$/;

function scrape(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('config get|set', () => {
  let h: TestHome;
  before(async () => { h = await TestHome.create(); });
  after(() => h.cleanup());

  const config = async (): Promise<Record<string, Record<string, unknown>>> => JSON.parse(await readFile(h.paths.config, 'utf8'));

  test('get prints one setting or all of them; set validates each kind before writing', async () => {
    assert.equal(await h.cliOk(['config', 'get', 'archive.retentionDays']), '30\n');
    assert.equal(await h.cliOk(['config', 'get', 'discovery']), 'false\n');
    assert.equal(await h.cliOk(['config', 'get', 'webui.certificatePath']), '\n');
    assert.deepEqual(JSON.parse(await h.cliOk(['config', 'get', 'listen', '--json'])), { listen: (await config()).listen });
    const all = await h.cliOk(['config', 'get']);
    assert.match(all, /^archive\.retentionDays +30$/m);
    assert.match(all, /^metrics\.token *$/m);

    const good: [string, string, (c: Awaited<ReturnType<typeof config>>) => unknown, unknown][] = [
      ['archive.retentionDays', '90', (c) => c.archive?.retentionDays, 90],
      ['archive.retentionDays', '0', (c) => c.archive?.retentionDays, 0],
      ['bandwidth.maxSendKBps', '2048', (c) => c.bandwidth?.maxSendKBps, 2048],
      ['discovery', 'true', (c) => c.discovery, true],
      ['device.name', 'my vps', (c) => c.device?.name, 'my vps'],
      ['listen', '[::1]:23456', (c) => c.listen, '[::1]:23456'],
      ['webui.certificatePath', '/etc/ssl/c.pem', (c) => c.webui?.certificatePath, '/etc/ssl/c.pem'],
      ['webui.certificatePath', '', (c) => c.webui?.certificatePath, undefined],
      ['metrics.listen', 'localhost:9100', (c) => c.metrics?.listen, 'localhost:9100'],
    ];
    for (const [key, value, read, want] of good) {
      const out = await h.cliOk(['config', 'set', key, value]);
      assert.equal(out, `${key} set\n`);
      assert.deepEqual(read(await config()), want, `${key} ${value}`);
    }
    assert.equal((await stat(h.paths.config)).mode & 0o777, 0o600);

    const before = await readFile(h.paths.config, 'utf8');
    const bad: [string[], RegExp][] = [
      [['archive.retentionDays', 'ninety'], /expected a whole number/],
      [['archive.retentionDays', '-1'], /expected a whole number/],
      [['archive.retentionDays', '1.5'], /expected a whole number/],
      [['archive.retentionDays', '99999'], /archive\.retentionDays: Number must be less than or equal to 3650/],
      [['archive.retentionDays', ''], /expected a whole number/],
      [['discovery', 'yes'], /expected true or false, not 'yes'/],
      [['discovery', 'TRUE'], /expected true or false/],
      [['discovery', '1'], /expected true or false/],
      [['device.name', ''], /device\.name: String must contain at least 1/],
      [['device.name', 'a\u0007b'], /control characters/],
      [['listen', 'nowhere'], /listen: expected HOST:PORT/],
      [['listen', '0.0.0.0:0'], /listen: expected HOST:PORT/],
      [['listen', '0.0.0.0:70000'], /listen: expected HOST:PORT/],
      [['webui.certificatePath', 'relative.pem'], /must be an absolute path/],
      [['metrics.listen', '0.0.0.0:9100'], /loopback only/],
      [['metrics.listen', '192.0.2.1:9100'], /loopback only/],
      [['metrics.token', 'short'], /metrics\.token: String must contain at least 32/],
      [['metrics.token', `${'x'.repeat(40)} y`], /bearer token/],
      [['folders', '[]'], /unknown setting 'folders'.*own commands/],
      [['webui.passwordHash', 'x'], /unknown setting/],
      [['__proto__', '1'], /unknown setting/],
      [['constructor', '1'], /unknown setting/],
    ];
    for (const [args, pattern] of bad) {
      const r = await h.cli(['config', 'set', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, ONE_LINE, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
    }
    assert.equal(await readFile(h.paths.config, 'utf8'), before, 'a refused value changed config.json');
  });

  test('metrics: enabling makes a token; the endpoint answers only with it', async () => {
    const port = await pickFreePort('127.0.0.1');
    await h.cliOk(['config', 'set', 'metrics.listen', `127.0.0.1:${port}`]);
    const out = await h.cliOk(['config', 'set', 'metrics.enabled', 'true']);
    assert.match(out, /Made a metrics token; .*`sealsync --home \S+ config get metrics\.token`/);
    const token = (await h.cliOk(['config', 'get', 'metrics.token'])).trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!(await h.cliOk(['config', 'get'])).includes(token), 'get without a key never shows the token');
    assert.match(await h.cliOk(['config', 'get']), /^metrics\.token +\(set\)$/m);
    // The token is not made again when metrics are switched off and on.
    await h.cliOk(['config', 'set', 'metrics.enabled', 'false']);
    assert.equal((await h.cliOk(['config', 'set', 'metrics.enabled', 'true'])).includes('Made'), false);
    assert.equal((await h.cliOk(['config', 'get', 'metrics.token'])).trim(), token);
    // Enabled without a token is refused.
    const r = await h.cli(['config', 'set', 'metrics.token', '']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /metrics\.token: is required when metrics are enabled/);

    const d = await h.startDaemon();
    const url = `http://127.0.0.1:${port}/metrics`;
    assert.equal((await scrape(url)).status, 401);
    assert.equal((await scrape(url, `${token}x`)).status, 401);
    const ok = await scrape(url, token);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^sealsync_peers\{connected="true"\} 0$/m);
    assert.ok(!ok.body.includes((await h.status()).device.id), 'no device id in the metrics');
    assert.ok(!ok.body.includes(h.home), 'no path in the metrics');

    // With the daemon running, changes go through it; restart-only ones say so.
    assert.equal(await h.cliOk(['config', 'set', 'device.name', 'renamed']), 'device.name set\n');
    assert.equal((await h.status()).device.name, 'renamed');
    assert.match(await h.cliOk(['config', 'set', 'metrics.listen', '127.0.0.1:9']), /applies when the daemon restarts: `sealsync --home \S+ stop`/);
    const refused = await h.cli(['config', 'set', 'webui.certificatePath', '/etc/ssl/c.pem']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /webui\.certificatePath can be changed only while the daemon is stopped \(`sealsync --home \S+ stop` first\)/);
    const bad = await h.cli(['config', 'set', 'listen', 'nowhere']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, ONE_LINE);
    assert.equal(await d.stop(), 0);
    assert.equal((await config()).device?.name, 'renamed');
  });
});

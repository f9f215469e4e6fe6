import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { WebServer } from './web-server.js';
import { AuthStore, memoryPasswordStore } from './web-auth/auth-store.js';
import { UI_CERT_FILE, UI_KEY_FILE } from './web-tls.js';
import { silentLogger } from '../logger.js';
import type { DaemonApi } from './daemon-api.js';

function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('self-signed HTTPS: certificate made once (key 0600), reused, cookies Secure with __Host-', async () => {
  const home = await mkdtemp(join(tmpdir(), 'sealsync-tls-'));
  const auth = new AuthStore({ passwords: memoryPasswordStore() });
  const make = () => new WebServer(
    { api: {} as DaemonApi, logger: silentLogger(), authStore: auth, registerRoutes: () => undefined },
    { listen: '127.0.0.1:0', https: 'self-signed', home, staticDir: join(home, 'no-dist') },
  );
  const first = make();
  try {
    await first.start();
    assert.match(first.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await stat(join(home, UI_KEY_FILE))).mode & 0o777, 0o600);
    const cert = await readFile(join(home, UI_CERT_FILE), 'utf8');
    const x = new X509Certificate(cert);
    assert.ok(x.checkIP('127.0.0.1'));
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const page = await get(`${first.url()}/`, cert);
    assert.equal(page.status, 503, 'not built yet, but served over verified TLS');
    assert.match(String(page.headers['strict-transport-security']), /max-age/);
    const { token } = auth.issueLoginToken();
    const res = await first.fastify!.inject({ method: 'POST', url: '/api/login', headers: { host: new URL(first.url()).host }, payload: { token } });
    assert.match(String(res.headers['set-cookie']), /^__Host-sealsync_session_\d+=.*; Secure/);
    await first.stop();
    const second = make();
    await second.start();
    assert.equal(await readFile(join(home, UI_CERT_FILE), 'utf8'), cert);
    await second.stop();
  } finally {
    await first.stop();
    await rm(home, { recursive: true, force: true });
  }
});

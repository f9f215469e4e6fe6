import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { silentLogger } from '../logger.js';
import { STATUS_SCHEMA_VERSION, type FolderStatus, type PeerStatus, type StatusReport } from './daemon-api.js';
import { MetricsServer } from './metrics-server.js';

const TOKEN = 'a'.repeat(20) + 'B-_.~+/=' + 'z'.repeat(20);
const DEVICE_ID = 'AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH';
const PEER_ID = 'PPPPPPP-QQQQQQQ-RRRRRRR-SSSSSSS-TTTTTTT-UUUUUUU-VVVVVVV-WWWWWWW';

function folder(path: string, type: FolderStatus['type'], state: FolderStatus['state'], n: number): FolderStatus {
  return {
    path, type, folderId: `id-${path}`, state, localFiles: n, localBytes: n * 100, globalFiles: n + 1, globalBytes: (n + 1) * 100,
    needFiles: 1, needBytes: 100, error: state === 'error' ? `${path} is gone` : null,
    errorCode: null, notice: null, parked: [], parkedCount: 0, peers: { connected: 0, devicesConnected: 0, lastSeenAt: null }, lastChangeAt: null,
  };
}

const status: StatusReport = {
  schemaVersion: STATUS_SCHEMA_VERSION,
  device: { id: DEVICE_ID, name: 'secret-laptop-name', listen: ['tcp://127.0.0.1:1'] },
  folders: [folder('/home/me/Private', 'rw', 'idle', 3), folder('/srv/x', 'encrypted', 'syncing', 5), folder('/srv/y', 'encrypted', 'error', 2)],
  peers: [
    { id: PEER_ID, name: 'peer-name', address: 'tcp://192.0.2.1:1', connected: true, inBytes: 10, outBytes: 20 } as PeerStatus,
    { id: null, name: null, address: 'tcp://192.0.2.2:1', connected: false, inBytes: 1, outBytes: 2 } as unknown as PeerStatus,
  ],
};

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('metrics: only with the bearer token, only GET /metrics, no ids, paths or names in the labels', async () => {
  const server = new MetricsServer({ status: () => status }, silentLogger(), { listen: '127.0.0.1:0', token: TOKEN, version: '9.9.9' });
  // Port 0 is refused by the config schema but fine for the server itself: it binds what it is given.
  await server.start();
  try {
    const url = server.url();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = url.slice(0, -'/metrics'.length);
    for (const auth of [undefined, '', 'Bearer', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, `Bearer  ${TOKEN}`, TOKEN]) {
      const r = await get(url, auth === undefined ? {} : { authorization: auth });
      assert.equal(r.status, 401, `authorization ${JSON.stringify(auth)}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="sealsync metrics"');
      assert.ok(!r.body.includes('sealsync_'), 'no metric without the token');
    }
    assert.equal((await get(`${base}/other`)).status, 401, 'no path is confirmed without the token');
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await get(`${base}/other`, auth)).status, 404);
    assert.equal((await get(`${base}/metrics/`, auth)).status, 404);
    assert.equal((await get(url, auth, 'POST')).status, 405);
    const head = await get(url, auth, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');

    const r = await get(`${url}?x=1`, { authorization: `bearer ${TOKEN}` });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const lines = r.body.split('\n');
    const value = (series: string): number => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      assert.ok(line, `no ${series}`);
      return Number(line.split(' ')[1]);
    };
    assert.equal(value('sealsync_info{version="9.9.9"}'), 1);
    assert.equal(value('sealsync_folders{type="rw",state="idle"}'), 1);
    assert.equal(value('sealsync_folders{type="encrypted",state="syncing"}'), 1);
    assert.equal(value('sealsync_folders{type="encrypted",state="error"}'), 1);
    assert.equal(value('sealsync_folders{type="ro",state="idle"}'), 0);
    assert.equal(value('sealsync_folder_files{type="encrypted",scope="local"}'), 7);
    assert.equal(value('sealsync_folder_bytes{type="encrypted",scope="global"}'), 900);
    assert.equal(value('sealsync_folder_files{type="rw",scope="need"}'), 1);
    assert.equal(value('sealsync_peers{connected="true"}'), 1);
    assert.equal(value('sealsync_peers{connected="false"}'), 1);
    assert.equal(value('sealsync_peer_traffic_bytes{direction="in"}'), 11);
    assert.equal(value('sealsync_peer_traffic_bytes{direction="out"}'), 22);
    assert.ok(lines.some((l) => l.startsWith('sealsync_process_resident_memory_bytes ')), 'process metrics');
    for (const secret of [DEVICE_ID, PEER_ID, 'secret-laptop-name', 'peer-name', '/home/me', '/srv/', '192.0.2', 'is gone', 'id-/']) {
      assert.ok(!r.body.includes(secret), `the scrape shows ${secret}`);
    }
  } finally {
    await server.stop();
  }
  await assert.rejects(get(server.url() || 'http://127.0.0.1:1/metrics'), 'stopped: nothing listens');
});

test('metrics: a port in use is one ERR_LISTEN line that says where to change it', async () => {
  const first = new MetricsServer({ status: () => status }, silentLogger(), { listen: '127.0.0.1:0', token: TOKEN, version: '1' });
  await first.start();
  try {
    const taken = new URL(first.url()).port;
    const second = new MetricsServer({ status: () => status }, silentLogger(), { listen: `127.0.0.1:${taken}`, token: TOKEN, version: '1' });
    await assert.rejects(second.start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_LISTEN');
      assert.match(err.message, new RegExp(`^the metrics endpoint cannot listen on 127\\.0\\.0\\.1:${taken}: the port is in use .*metrics\\.listen`));
      return true;
    });
  } finally {
    await first.stop();
  }
});

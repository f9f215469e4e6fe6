/**
 * Two in-process daemons on loopback: `peer remove` ends the session for good,
 * even when it races a dial to the same device that is still in flight.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logger.js';
import { Daemon } from './daemon.js';
import { initHome } from './init-home.js';

/** How long a removed peer must stay disconnected (a redial would take the backoff's first step, 1 s, or less). */
const SETTLE_MS = 1500;
const CONNECT_TIMEOUT_MS = 5000;
const ROUNDS = 3;

let root: string;
let a: Daemon;
let s: Daemon;

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < ms / 20 + 1 && Date.now() < deadline; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ss-dp-'));
  await initHome({ home: join(root, 'a'), listen: '127.0.0.1:0', uiListen: false, name: 'alpha' });
  await initHome({ home: join(root, 's'), listen: '127.0.0.1:0', uiListen: false, name: 'server' });
  a = new Daemon({ home: join(root, 'a'), logger: silentLogger() });
  s = new Daemon({ home: join(root, 's'), logger: silentLogger() });
  await Promise.all([a.start(), s.start()]);
});
after(async () => {
  await Promise.all([a.stop(), s.stop()]);
  await rm(root, { recursive: true, force: true });
});

test('peer remove racing a re-dial: the new session does not survive', async () => {
  const address = s.status().device.listen[0] as string;
  const sId = s.deviceIdText();
  for (let round = 0; round < ROUNDS; round++) {
    await a.addPeer(address);
    await waitFor(() => a.listPeers().some((p) => p.connected && p.id === sId), CONNECT_TIMEOUT_MS, 'a connected to s');
    await a.removePeer(address);
    assert.deepEqual(a.listPeers(), [], 'removed while connected');
    // Again, but removed at once: the dial is still running when the remove starts.
    await a.addPeer(address);
    await a.removePeer(address);
    await new Promise((r) => setTimeout(r, SETTLE_MS / ROUNDS));
    assert.deepEqual(a.listPeers(), [], `round ${round}: nothing connected after the remove`);
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  assert.deepEqual(a.listPeers(), []);
  await waitFor(() => s.listPeers().length === 0, CONNECT_TIMEOUT_MS, 's to see a leave');
});

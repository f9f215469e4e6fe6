import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatKey, keysFromSecret, newFolderSecret } from '../crypto/index.js';
import { isSealsyncError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { DaemonEvent } from './daemon-types.js';
import { Daemon } from './daemon.js';
import { IdleFolderRunner, type FolderRunnerInit } from './folder-runner.js';
import { initHome } from './init-home.js';
import { NO_DEVICE_NOTICE } from '../engine/peer/folder-truth.js';

let root: string;
let daemon: Daemon;
const started: string[] = [];
const stopped: string[] = [];
const serviceLog: string[] = [];
/** Rescans the fake engine was asked for, and how to finish the one running. */
const rescans: string[] = [];
let finishRescan: () => void = () => undefined;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ss-d-'));
  await initHome({ home: join(root, 'h'), listen: '127.0.0.1:0', uiListen: false, now: new Date(0) });
  await mkdir(join(root, 'a', 'inner'), { recursive: true });
  // A fake engine: records its lifecycle so the test sees what the daemon ran.
  const engine = (init: FolderRunnerInit) => {
    const r = new IdleFolderRunner(init);
    return Object.assign(r, {
      start: async () => { started.push(init.folder.path); },
      stop: async () => { stopped.push(init.folder.path); },
      rescan: () => {
        rescans.push(init.folder.path);
        return new Promise<void>((r) => { finishRescan = () => { rescans.push('done'); r(); }; });
      },
    });
  };
  daemon = new Daemon({
    home: join(root, 'h'),
    logger: silentLogger(),
    engines: { rw: engine, ro: engine },
    services: [{ start: () => { serviceLog.push('start'); }, stop: () => { serviceLog.push('stop'); } }],
  });
  await daemon.start();
});
after(async () => {
  await daemon.stop();
  await rm(root, { recursive: true, force: true });
});

test('status before any folder', () => {
  const s = daemon.status();
  assert.match(s.device.id, /^[A-Z2-7-]+$/);
  assert.equal(s.device.listen.length, 1);
  assert.equal(s.ui, undefined);
  assert.deepEqual(s.folders, []);
  assert.deepEqual(serviceLog, ['start']);
});

test('add, share and remove a folder; events and config follow', async () => {
  const events: DaemonEvent[] = [];
  const unsubscribe = daemon.events.subscribe((e) => events.push(e));
  const keys = keysFromSecret(newFolderSecret());
  const key = formatKey(keys);
  const dir = join(root, 'a');
  const info = await daemon.addFolder({ path: dir, key });
  assert.equal(info.type, 'rw');
  assert.deepEqual(started, [dir]);
  const config = JSON.parse(await readFile(daemon.paths.config, 'utf8'));
  assert.equal(config.folders[0].key, key);
  // Scanned, but no device shares it: not "up to date".
  assert.deepEqual([daemon.status().folders[0]?.state, daemon.status().folders[0]?.notice], ['unshared', NO_DEVICE_NOTICE]);
  assert.ok(!JSON.stringify(daemon.listFolders()).includes(key));

  await assert.rejects(daemon.addFolder({ path: join(dir, 'inner'), key: formatKey(keysFromSecret(newFolderSecret())) }),
    (e: unknown) => isSealsyncError(e, 'ERR_FOLDER_OVERLAP'));
  await assert.rejects(daemon.addFolder({ path: join(root, 'h'), key }), (e: unknown) => isSealsyncError(e, 'ERR_FOLDER_OVERLAP'));

  assert.match(daemon.shareFolder(dir, 'ro'), /^R/);
  assert.match(daemon.shareFolder(dir, 'encrypted'), /^E/);
  assert.equal(daemon.shareFolder(dir, 'rw'), key);

  await daemon.removeFolder(dir);
  assert.deepEqual(stopped, [dir]);
  assert.deepEqual(daemon.listFolders(), []);
  assert.deepEqual(JSON.parse(await readFile(daemon.paths.config, 'utf8')).folders, []);
  unsubscribe();
  assert.deepEqual(events.map((e) => e.type === 'folder-changed' ? e.change : e.type), ['added', 'removed']);
  assert.ok(events[1] && events[0] && events[1].seq === events[0].seq + 1);
});

test('an encrypted folder runs the idle placeholder and cannot share upward', async () => {
  const dir = join(root, 'enc');
  await mkdir(dir);
  const e = formatKey(keysFromSecret(newFolderSecret()));
  const { deriveEncrypted, parseKey } = await import('../crypto/index.js');
  await daemon.addFolder({ path: dir, key: formatKey(deriveEncrypted(parseKey(e))) });
  const f = daemon.status().folders.find((x) => x.path === dir);
  assert.equal(f?.type, 'encrypted');
  assert.equal(f?.state, 'unshared');
  assert.equal(f?.localFiles, 0);
  assert.throws(() => daemon.shareFolder(dir, 'ro'), (err: unknown) => isSealsyncError(err, 'ERR_KEY_DERIVE'));
  await daemon.removeFolder(dir);
});

test('rescan: --wait waits for the scan; a client that leaves stops only the waiting; encrypted folders refused', async () => {
  const dir = join(root, 'r');
  await mkdir(dir);
  await daemon.addFolder({ path: dir, key: formatKey(keysFromSecret(newFolderSecret())) });
  let done = false;
  const waiting = daemon.rescanFolder(dir, { wait: true }).then((f) => { done = true; return f; });
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'still scanning');
  finishRescan();
  assert.equal((await waiting).path, dir);
  // Without wait: answered at once while the scan runs on.
  assert.equal((await daemon.rescanFolder(dir)).path, dir);
  assert.deepEqual(rescans, [dir, 'done', dir]);
  finishRescan();
  // The caller goes away: ERR_ABORTED for the caller, the scan itself goes on to its end.
  const ac = new AbortController();
  const abandoned = daemon.rescanFolder(dir, { wait: true, signal: ac.signal });
  ac.abort();
  await assert.rejects(abandoned, (e: unknown) => isSealsyncError(e, 'ERR_ABORTED'));
  finishRescan();
  assert.deepEqual(rescans, [dir, 'done', dir, 'done', dir, 'done']);
  await daemon.removeFolder(dir);

  const enc = join(root, 'enc-r');
  await mkdir(enc);
  const { deriveEncrypted } = await import('../crypto/index.js');
  await daemon.addFolder({ path: enc, key: formatKey(deriveEncrypted(keysFromSecret(newFolderSecret()))) });
  await assert.rejects(daemon.rescanFolder(enc, { wait: true }), (e: unknown) => isSealsyncError(e, 'ERR_FOLDER_TYPE'));
  await assert.rejects(daemon.rescanFolder(join(root, 'none')), (e: unknown) => isSealsyncError(e, 'ERR_FOLDER_UNKNOWN'));
  await daemon.removeFolder(enc);
});

test('peers: normalised, no duplicates, removable', async () => {
  const p = await daemon.addPeer('tcp://LOCALHOST:22000');
  assert.equal(p.address, 'tcp://localhost:22000');
  await assert.rejects(daemon.addPeer('tcp://localhost:22000'), (e: unknown) => isSealsyncError(e, 'ERR_PEER_EXISTS'));
  // A bare HOST:PORT is the same tcp address, so the same peer; another scheme is refused.
  await assert.rejects(daemon.addPeer('LocalHost:22000'), (e: unknown) => isSealsyncError(e, 'ERR_PEER_EXISTS'));
  await assert.rejects(daemon.addPeer('http://localhost:22000'), (e: unknown) => isSealsyncError(e, 'ERR_ADDRESS'));
  await daemon.removePeer('tcp://localhost:22000');
  await assert.rejects(daemon.removePeer('tcp://localhost:22000'), (e: unknown) => isSealsyncError(e, 'ERR_PEER_UNKNOWN'));
});

test('settings never expose the password hash; patches are validated', async () => {
  await daemon.setPasswordHash('scrypt$secret-hash');
  const s = daemon.getSettings();
  assert.equal(s.webui.passwordSet, true);
  assert.ok(!JSON.stringify(s).includes('secret-hash'));
  const patched = await daemon.patchSettings({ device: { name: 'renamed' }, bandwidth: { maxSendKBps: 100 } });
  assert.equal(patched.device.name, 'renamed');
  assert.equal(patched.bandwidth.maxSendKBps, 100);
  assert.equal(daemon.status().device.name, 'renamed');
  assert.deepEqual(patched.restartRequired, [], 'name and bandwidth apply at once');
  const listenBefore = s.listen;
  const moved = await daemon.patchSettings({ listen: '127.0.0.1:1', webui: { https: true } });
  assert.deepEqual(moved.restartRequired, ['listen', 'webui.https']);
  assert.deepEqual(daemon.getSettings().restartRequired, ['listen', 'webui.https']);
  const back = await daemon.patchSettings({ listen: listenBefore, webui: { https: false } });
  assert.deepEqual(back.restartRequired, [], 'back to what the daemon runs with');
  await assert.rejects(daemon.patchSettings({ listen: 'nonsense' }), (e: unknown) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(daemon.patchSettings({ webui: { enabled: true, listen: '0.0.0.0:8384' } }), (e: unknown) => isSealsyncError(e, 'ERR_UI_UNSAFE_LISTEN'));
  const config = JSON.parse(await readFile(daemon.paths.config, 'utf8'));
  assert.equal(config.device.name, 'renamed');
  assert.equal(config.webui.listen, '127.0.0.1:8384');
});

test('a second Daemon on the same home is refused', async () => {
  // The lock holds our own pid; a different pid is needed to simulate another process.
  const { acquireLock } = await import('./lock.js');
  await assert.rejects(acquireLock(daemon.paths.lock, process.ppid), (e: unknown) => isSealsyncError(e, 'ERR_DAEMON_RUNNING'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonEvent } from './api.js';
import type { FolderStatus } from './api.js';
import { bytes, describeEvent, keepInHistory, WRITER_ID_SHOWN } from './format.js';

const FOLDER = '/home/me/Documents';
const HOSTILE = '<img src=x onerror=window.__xss=1>.txt';
const WRITER = '0123456789abcdef';
const base = { seq: 1, time: 0 } as const;

function fileChanged(action: 'added' | 'modified' | 'deleted', source: 'local' | 'peer', file = 'a.txt'): DaemonEvent {
  return { ...base, type: 'file-changed', folder: FOLDER, file, action, source };
}

function conflict(thisDevice: boolean): DaemonEvent {
  return { ...base, type: 'conflict', folder: FOLDER, file: 'n.txt', conflictFile: 'n.sync-conflict-20260101-120000-0123456.txt', writer: WRITER, thisDevice };
}

test('file changes say whether this device or a peer made them', () => {
  assert.equal(describeEvent(fileChanged('added', 'local')), `Added on this device: a.txt in ${FOLDER}`);
  assert.equal(describeEvent(fileChanged('modified', 'peer')), `Changed by a peer: a.txt in ${FOLDER}`);
  assert.equal(describeEvent(fileChanged('deleted', 'peer')), `Deleted by a peer: a.txt in ${FOLDER}`);
});

test("a conflict where this device's edit lost says so and names the copy", () => {
  const text = describeEvent(conflict(true));
  assert.match(text, /^Conflict on n\.txt in \/home\/me\/Documents: /);
  assert.match(text, /this device's own edit was kept as n\.sync-conflict-20260101-120000-0123456\.txt$/);
  assert.doesNotMatch(text, /0123456789/, 'no writer id needed: it was this device');
});

test("a conflict where another device's edit lost names its writer (as in the copy's name) and the copy", () => {
  const text = describeEvent(conflict(false));
  assert.match(text, /another device's edit \(0123456\) lost and was kept as n\.sync-conflict-20260101-120000-0123456\.txt/);
  assert.ok(text.includes(`(${WRITER.slice(0, WRITER_ID_SHOWN)})`));
  assert.ok(!text.includes(WRITER), 'only the short id that the copy carries');
  assert.match(text, /n\.txt holds the winning version$/);
});

test('hostile file names come back verbatim (the page renders them as text)', () => {
  assert.equal(describeEvent(fileChanged('added', 'peer', HOSTILE)), `Added by a peer: ${HOSTILE} in ${FOLDER}`);
});

function status(seq: number, state: FolderStatus['state'], error: string | null = null): DaemonEvent {
  const folder: FolderStatus = {
    path: FOLDER, type: 'rw', folderId: 'f', state, error,
    localFiles: 0, localBytes: 0, globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0,
    errorCode: null, notice: null, parked: [], parkedCount: 0, peers: { connected: 0, devicesConnected: 0, lastSeenAt: null }, lastChangeAt: null,
  };
  return { seq, time: 0, type: 'folder-status', folder };
}

test('the history keeps changes and a folder\'s new errors, not its status ticks', () => {
  const last = new Map<string, string>();
  const kept = [
    status(1, 'scanning'), status(2, 'idle'), fileChanged('added', 'peer'), conflict(true),
    status(3, 'error', 'the folder is gone'), status(4, 'error', 'the folder is gone'),
    status(5, 'error', 'disk full'), status(6, 'syncing'), status(7, 'error', 'disk full'),
  ].filter((e) => keepInHistory(e, last)).map((e) => `${e.type}#${e.seq}`);
  assert.deepEqual(kept, ['file-changed#1', 'conflict#1', 'folder-status#3', 'folder-status#5', 'folder-status#7']);
  assert.equal(describeEvent(status(3, 'error', 'the folder is gone')), `Problem in ${FOLDER}: the folder is gone`);
});

test('a peer without a name is named by its address', () => {
  const peer = { id: null, name: '', address: 'tcp://127.0.0.1:22000', connected: false, inBytes: 0, outBytes: 0, inRate: 0, outRate: 0, sharedFolders: 0, problem: null };
  assert.equal(describeEvent({ ...base, type: 'peer-disconnected', peer }), 'Disconnected from tcp://127.0.0.1:22000');
  assert.equal(describeEvent({ ...base, type: 'peer-connected', peer: { ...peer, name: 'laptop', connected: true } }), 'Connected to laptop');
});

test('sizes', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(-1), '–');
});

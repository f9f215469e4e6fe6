import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZodError } from 'zod';
import { MAX_PARKED_REPORTED, parseStatusReport, STATUS_SCHEMA_VERSION, statusReportSchema, type FolderStatus, type StatusReport } from './status-schema.js';
import { NO_PEER_FACTS, settledStatus } from './folder-truth.js';

const folder = (over: Partial<FolderStatus> = {}): FolderStatus => ({
  path: '/f', type: 'rw', folderId: 'abcd', state: 'idle', localFiles: 1, localBytes: 3, globalFiles: 1, globalBytes: 3,
  needFiles: 0, needBytes: 0, error: null, ...NO_PEER_FACTS, ...over,
});

const report = (over: Partial<StatusReport> = {}): StatusReport => ({
  schemaVersion: STATUS_SCHEMA_VERSION,
  device: { id: 'DEV', name: 'laptop', listen: ['tcp://127.0.0.1:22000'] },
  folders: [folder()],
  peers: [{
    id: null, name: null, address: 'tcp://127.0.0.1:1', connected: false, inBytes: 0, outBytes: 0, inRate: 0, outRate: 0, sharedFolders: 0,
    problem: { reason: 'refused', message: 'cannot connect', lastAttemptAt: 1, nextAttemptAt: 2 },
  }],
  ...over,
});

test('a full report parses, with every optional part', () => {
  const full = report({
    ui: { url: 'http://127.0.0.1:8384' },
    folders: [folder({
      state: 'syncing', needFiles: 2, needBytes: 10,
      parked: [{ path: 'a/b.txt', reason: 'block is not available from any connected peer', attempts: 2, nextAttemptAt: 5 }], parkedCount: 1,
      progress: { doneBytes: 5, totalBytes: 15, percent: 33, rate: 100, etaSeconds: 1 },
      scan: { files: 1, bytes: 2, rate: 3 }, unreadable: ['x'], localChanges: ['y'],
      devices: [
        { id: 'PEER-ONE', name: 'desk', percent: 97, needFiles: 3, needBytes: 2048, reportedAt: 7 },
        { id: 'PEER-TWO', name: null, percent: null, needFiles: null, needBytes: null, reportedAt: null },
      ],
    })],
  });
  assert.deepEqual(parseStatusReport(JSON.parse(JSON.stringify(full))), full);
});

test('the schema refuses what a reader could misread', () => {
  const bad: [string, unknown][] = [
    ['no version', { ...report(), schemaVersion: undefined }],
    ['another version', { ...report(), schemaVersion: STATUS_SCHEMA_VERSION + 1 }],
    ['an unknown state', report({ folders: [folder({ state: 'ok' as FolderStatus['state'] })] })],
    ['a parked path without a name', report({ folders: [folder({ parked: [{ path: '', reason: 'x', attempts: 1, nextAttemptAt: null }], parkedCount: 1 })] })],
    ['a parked path without a reason', report({ folders: [folder({ parked: [{ path: 'a', reason: '', attempts: 1, nextAttemptAt: null }], parkedCount: 1 })] })],
    ['too many parked paths', report({ folders: [folder({ parked: Array.from({ length: MAX_PARKED_REPORTED + 1 }, (_, i) => ({ path: `p${i}`, reason: 'r', attempts: 1, nextAttemptAt: null })), parkedCount: 101 })] })],
    ['a negative need', report({ folders: [folder({ needFiles: -1 })] })],
    ['a percent over 100', report({ folders: [folder({ progress: { doneBytes: 0, totalBytes: 0, percent: 101, rate: 0, etaSeconds: null } })] })],
    ['an unknown field', { ...report(), extra: 1 }],
    ['a device over 100 %', report({ folders: [folder({ devices: [{ id: 'P', name: null, percent: 101, needFiles: 0, needBytes: 0, reportedAt: 1 }] })] })],
    ['a device without an id', report({ folders: [folder({ devices: [{ id: '', name: null, percent: null, needFiles: null, needBytes: null, reportedAt: null }] })] })],
    ['a device with a negative need', report({ folders: [folder({ devices: [{ id: 'P', name: null, percent: 50, needFiles: -1, needBytes: 0, reportedAt: 1 }] })] })],
    ['an unknown peer problem', report({ peers: [{ ...report().peers[0]!, problem: { reason: 'sad' as 'other', message: '', lastAttemptAt: null, nextAttemptAt: null } }] })],
    ['a folder key where none belongs', report({ folders: [{ ...folder(), key: 'W...' } as FolderStatus] })],
  ];
  for (const [what, value] of bad) assert.throws(() => statusReportSchema.parse(value), ZodError, what);
});

test('every settled status obeys the truth rule and parses', () => {
  const peersOf = [
    { connected: 0, devicesConnected: 0, lastSeenAt: null },
    { connected: 0, devicesConnected: 1, lastSeenAt: null },
    { connected: 1, devicesConnected: 1, lastSeenAt: 10 },
    { connected: 0, devicesConnected: 0, lastSeenAt: 10 },
  ];
  for (const activity of ['idle', 'scanning', 'syncing', 'error'] as const) {
    for (const needFiles of [0, 1]) {
      for (const parkedCount of [0, 1]) {
        for (const peers of peersOf) {
          for (const lastChangeAt of [null, 5, 20]) {
            const s = settledStatus({
              ...folder(), activity, needFiles, error: activity === 'error' ? 'broken' : null,
              parked: parkedCount ? [{ path: 'a', reason: 'r', attempts: 1, nextAttemptAt: null }] : [], parkedCount, peers, lastChangeAt,
            });
            parseStatusReport(report({ folders: [s] }));
            const what = JSON.stringify({ activity, needFiles, parkedCount, peers, lastChangeAt, state: s.state });
            if (s.state === 'idle') {
              assert.equal(s.needFiles + s.parkedCount, 0, what);
              assert.ok(s.peers.connected > 0 || (s.peers.lastSeenAt !== null && (s.lastChangeAt === null || s.peers.lastSeenAt >= s.lastChangeAt)), what);
            }
            if (s.state === 'waiting' || s.state === 'unshared') assert.ok(s.notice, what);
            if (activity !== 'idle') assert.equal(s.state, activity, what);
          }
        }
      }
    }
  }
});

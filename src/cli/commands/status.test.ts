import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_SCHEMA_VERSION, type FolderStatus, type StatusReport } from '../../api/daemon-api.js';
import { EXIT_FOLDER_ERROR, EXIT_OK, EXIT_SYNCING } from '../exit-codes.js';
import { formatStatus, statusExitCode } from './status.js';

function folder(over: Partial<FolderStatus>): FolderStatus {
  return {
    path: '/f', type: 'rw', folderId: 'x', state: 'idle', localFiles: 1, localBytes: 1, globalFiles: 1, globalBytes: 1,
    needFiles: 0, needBytes: 0, error: null,
    errorCode: null, notice: null, parked: [], parkedCount: 0, peers: { connected: 0, devicesConnected: 0, lastSeenAt: null }, lastChangeAt: null, ...over,
  };
}

function report(folders: FolderStatus[]): StatusReport {
  return { schemaVersion: STATUS_SCHEMA_VERSION, device: { id: 'D', name: 'n', listen: [] }, folders, peers: [] };
}

test('status exit code: 0 in sync, 3 while anything is left to do, 4 on any folder error', () => {
  assert.equal(statusExitCode(report([])), EXIT_OK);
  assert.equal(statusExitCode(report([folder({}), folder({ type: 'encrypted' })])), EXIT_OK);
  for (const f of [{ state: 'scanning' }, { state: 'syncing' }, { needFiles: 2 }, { needBytes: 5 }] as Partial<FolderStatus>[]) {
    assert.equal(statusExitCode(report([folder({}), folder(f)])), EXIT_SYNCING, JSON.stringify(f));
  }
  // An encrypted folder idle with blocks no connected peer has: not in sync.
  assert.equal(statusExitCode(report([folder({ type: 'encrypted', needFiles: 1 })])), EXIT_SYNCING);
  assert.equal(statusExitCode(report([folder({ state: 'syncing' }), folder({ state: 'error', error: 'gone' })])), EXIT_FOLDER_ERROR);
  assert.equal(statusExitCode(report([folder({ state: 'idle', error: 'unreadable' })])), EXIT_FOLDER_ERROR);
  assert.deepEqual([EXIT_OK, EXIT_SYNCING, EXIT_FOLDER_ERROR], [0, 3, 4]);
});

test('status lists each device sharing a folder with how far it is, names made printable', () => {
  const out = formatStatus(report([folder({
    devices: [
      { id: 'AAA', name: 'desk', percent: 100, needFiles: 0, needBytes: 0, reportedAt: 1 },
      { id: 'BBB', name: 'lap\u001btop', percent: 42, needFiles: 3, needBytes: 2048, reportedAt: 1 },
      { id: 'CCC', name: null, percent: null, needFiles: null, needBytes: null, reportedAt: null },
    ],
  })]));
  assert.match(out, /^ {2}\/f: desk 100% \(up to date\)$/m);
  assert.match(out, /^ {2}\/f: lap\\u\{1b\}top 42% \(3 files, 2\.0 KiB to go\)$/m);
  assert.match(out, /^ {2}\/f: CCC: progress not reported yet$/m);
});

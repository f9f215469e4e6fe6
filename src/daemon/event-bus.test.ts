import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderStatus } from '../engine/peer/folder-status.js';
import { EventBus, MAX_RECENT_EVENTS } from './event-bus.js';

const status = (path: string, localFiles: number): FolderStatus => ({
  path, type: 'rw', folderId: 'x', state: 'scanning', localFiles, localBytes: 0,
  globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0, error: null,
  errorCode: null, notice: null, parked: [], parkedCount: 0, peers: { connected: 0, devicesConnected: 0, lastSeenAt: null }, lastChangeAt: null,
});

test('consecutive seq, time from the injected clock, bounded ring', () => {
  const bus = new EventBus(() => 42);
  for (let i = 0; i < MAX_RECENT_EVENTS + 10; i++) bus.emit({ type: 'folder-changed', path: `/p${i}`, change: 'added' });
  const recent = bus.recent();
  assert.equal(recent.length, MAX_RECENT_EVENTS);
  assert.equal(recent[0]?.seq, 11);
  assert.equal(recent.at(-1)?.seq, MAX_RECENT_EVENTS + 10);
  assert.ok(recent.every((e) => e.time === 42));
});

test('folder-status keeps only the latest per folder in the ring, but every tick reaches listeners', () => {
  const bus = new EventBus();
  const seen: number[] = [];
  bus.subscribe((e) => seen.push(e.seq));
  bus.emit({ type: 'folder-changed', path: '/a', change: 'added' });
  for (let i = 0; i < 50; i++) bus.emit({ type: 'folder-status', folder: status(i % 2 ? '/a' : '/b', i) });
  const recent = bus.recent();
  assert.equal(recent.length, 3);
  assert.equal(recent[0]?.type, 'folder-changed');
  assert.deepEqual(recent.slice(1).map((e) => (e.type === 'folder-status' ? e.folder.localFiles : -1)), [48, 49]);
  assert.equal(seen.length, 51);
});

test('a throwing listener does not stop others; unsubscribe works', () => {
  const errors: unknown[] = [];
  const bus = new EventBus(Date.now, (err) => errors.push(err));
  let calls = 0;
  bus.subscribe(() => { throw new Error('boom'); });
  const off = bus.subscribe(() => { calls++; });
  bus.emit({ type: 'folder-changed', path: '/a', change: 'added' });
  off();
  bus.emit({ type: 'folder-changed', path: '/a', change: 'removed' });
  assert.equal(calls, 1);
  assert.equal(errors.length, 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completionPercent, PeerProgressBook, progressCounts, ProgressReporter } from './peer-progress.js';

test('completion: bytes held of the global bytes, 100 only when nothing is needed', () => {
  assert.equal(completionPercent({ globalFiles: 4, globalBytes: 1000, needFiles: 0, needBytes: 0 }), 100);
  assert.equal(completionPercent({ globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0 }), 100);
  assert.equal(completionPercent({ globalFiles: 4, globalBytes: 1000, needFiles: 1, needBytes: 250 }), 75);
  assert.equal(completionPercent({ globalFiles: 4, globalBytes: 1000, needFiles: 1, needBytes: 1 }), 99, 'never 100 while a file is needed');
  assert.equal(completionPercent({ globalFiles: 1, globalBytes: 0, needFiles: 1, needBytes: 0 }), 0, 'an empty file needed');
  assert.equal(completionPercent({ globalFiles: 4, globalBytes: 1000, needFiles: 4, needBytes: 1000 }), 0);
});

test('our counts go out clamped so the peer can decode them (needs never above the totals)', () => {
  assert.deepEqual(progressCounts({ globalFiles: 1, globalBytes: 10, needFiles: 2, needBytes: 20 }), { globalFiles: 2, globalBytes: 20, needFiles: 2, needBytes: 20 });
  assert.deepEqual(progressCounts({ globalFiles: -1, globalBytes: Number.NaN, needFiles: 1.5, needBytes: 2 ** 60 }), { globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0 });
});

test('a report is forgotten only by the link that brought it', () => {
  const book = new PeerProgressBook(() => 42);
  const older = {};
  const newer = {};
  book.set('f', 'PEER', { globalFiles: 2, globalBytes: 100, needFiles: 1, needBytes: 50 }, older);
  book.set('f', 'PEER', { globalFiles: 2, globalBytes: 100, needFiles: 0, needBytes: 0 }, newer);
  book.delete('f', 'PEER', older);
  assert.deepEqual(book.of('f').get('PEER'), { globalFiles: 2, globalBytes: 100, needFiles: 0, needBytes: 0, percent: 100, at: 42 });
  book.delete('f', 'PEER', newer);
  assert.equal(book.of('f').size, 0);
});

test('the reporter sends at once, then only what changed, and stop leaves no timer', async () => {
  let counts: { globalFiles: number; globalBytes: number; needFiles: number; needBytes: number } | null = null;
  const sent: number[] = [];
  const r = new ProgressReporter(() => counts, (c) => sent.push(c.needFiles), 10);
  r.start();
  assert.deepEqual(sent, [], 'nothing to say yet (scanning)');
  counts = { globalFiles: 3, globalBytes: 30, needFiles: 3, needBytes: 30 };
  await new Promise((res) => setTimeout(res, 40));
  counts = { globalFiles: 3, globalBytes: 30, needFiles: 0, needBytes: 0 };
  await new Promise((res) => setTimeout(res, 40));
  r.stop();
  assert.deepEqual(sent, [3, 0], 'each change once');
  counts = { globalFiles: 3, globalBytes: 30, needFiles: 1, needBytes: 1 };
  await new Promise((res) => setTimeout(res, 40));
  assert.deepEqual(sent, [3, 0], 'nothing after stop');
});

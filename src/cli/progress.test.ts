import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bar, createProgress, PROGRESS_BAR_WIDTH } from './progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { out: string } {
  const s = { isTTY, columns: 100, out: '', write(t: string) { s.out += t; return true; } };
  return s as unknown as NodeJS.WriteStream & { out: string };
}

test('off a TTY nothing is written', () => {
  const s = fakeStream(false);
  const p = createProgress(s);
  p.update({ files: 3, bytes: 4096, rate: 1024 });
  p.done();
  assert.equal(s.out, '');
});

test('on a TTY one line with files, bytes and rate, cleared when done', () => {
  const s = fakeStream(true);
  const p = createProgress(s, 'scanning');
  p.update({ files: 12, bytes: 3 * 1024 * 1024, rate: 1024 * 1024 });
  assert.match(s.out, /^\rscanning \[.*\] 12 files, 3\.0 MiB, 1\.0 MiB\/s/);
  assert.ok(!s.out.includes('\n'));
  p.done();
  assert.ok(s.out.endsWith('\r'));
});

test('a terminal that reports 0 columns still works', () => {
  const s = fakeStream(true);
  (s as { columns: number }).columns = 0;
  const p = createProgress(s);
  p.update({ files: 1, bytes: 1, rate: 1 });
  p.done();
  assert.match(s.out, /1 files, 1 B, 1 B\/s/);
});

test('the bar fills with known totals and moves without', () => {
  assert.equal(bar({ files: 0, bytes: 50, rate: 0, totalBytes: 100 }, 0), `[${'#'.repeat(PROGRESS_BAR_WIDTH / 2)}${'.'.repeat(PROGRESS_BAR_WIDTH / 2)}]`);
  assert.notEqual(bar({ files: 0, bytes: 0, rate: 0 }, 1), bar({ files: 0, bytes: 0, rate: 0 }, 2));
  assert.equal(bar({ files: 0, bytes: 0, rate: 0 }, 1).length, PROGRESS_BAR_WIDTH + 2);
});

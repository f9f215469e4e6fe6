import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PullFeed, type FeedSource } from './pull-feed.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A source whose batches are handed in by the test; more() takes what is there. */
function manualSource(): FeedSource<number> & { add(items: number[]): void; tookBatches: number } {
  let pending: number[] = [];
  const src = {
    tookBatches: 0,
    add(items: number[]) {
      pending.push(...items);
    },
    ready: () => pending.length > 0,
    more: async () => {
      await tick();
      src.tookBatches++;
      const got = pending;
      pending = [];
      return got;
    },
  };
  return src;
}

test('runs every item at most `limit` at a time, and what the source has when the queue is dry', async () => {
  const feed = new PullFeed<number>();
  const src = manualSource();
  src.add([10, 11]);
  const ran: number[] = [];
  let running = 0;
  let most = 0;
  await feed.run([1, 2, 3, 4, 5], 2, async (n) => {
    running++;
    most = Math.max(most, running);
    await tick();
    ran.push(n);
    running--;
  }, src, new AbortController().signal);
  assert.deepEqual([...ran].sort((a, b) => a - b), [1, 2, 3, 4, 5, 10, 11]);
  assert.equal(most, 2);
  assert.equal(src.tookBatches, 1);
});

test('items that arrive while one item is still running are taken at once, not after it', async () => {
  const feed = new PullFeed<string>();
  const src = manualSource() as unknown as FeedSource<string> & { add(items: string[]): void };
  let releaseSlow!: () => void;
  const slowGate = new Promise<void>((r) => { releaseSlow = r; });
  const order: string[] = [];
  const done = feed.run(['slow', 'quick'], 4, async (item) => {
    if (item === 'slow') await slowGate;
    else await tick();
    order.push(item);
    // The late item finishing is what lets the slow one go: it must run while the slow one waits.
    if (item === 'late') releaseSlow();
  }, src, new AbortController().signal);
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(order, ['quick'], 'the slow item holds the phase open');
  src.add(['late']);
  feed.notify();
  await done;
  assert.deepEqual(order, ['quick', 'late', 'slow']);
});

test('ends when every worker is out of work, with nothing left to ask the source for', async () => {
  const feed = new PullFeed<number>();
  const src = manualSource();
  let n = 0;
  await feed.run([], 8, async () => { n++; }, src, new AbortController().signal);
  assert.equal(n, 0);
  await feed.run([1], 1, async () => { n++; }, src, new AbortController().signal);
  assert.equal(n, 1);
});

test('an abort ends the phase, waiting workers included', async () => {
  const feed = new PullFeed<number>();
  const src = manualSource();
  const ac = new AbortController();
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const done = feed.run([1], 4, async () => { await gate; }, src, ac.signal);
  await tick();
  ac.abort();
  release();
  await done; // would hang if the waiting workers were not woken
});

test('an item that throws ends the phase with its error; no worker is left waiting', async () => {
  const feed = new PullFeed<number>();
  const src = manualSource();
  await assert.rejects(feed.run([1, 2, 3], 3, async (n) => {
    await tick();
    if (n === 2) throw new Error('boom');
  }, src, new AbortController().signal), /boom/);
});

test('a source that throws ends the phase with its error', async () => {
  const feed = new PullFeed<number>();
  const src: FeedSource<number> = { ready: () => true, more: async () => { throw new Error('plan failed'); } };
  await assert.rejects(feed.run([], 2, async () => undefined, src, new AbortController().signal), /plan failed/);
});

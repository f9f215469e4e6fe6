import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderWatcher, MAX_CRAWL_HINTS } from './folder-watcher.js';
import { IgnoreRules } from './ignore-rules.js';

const base = mkdtempSync(join(tmpdir(), 'sealsync-watch-'));
after(() => rmSync(base, { recursive: true, force: true }));
const WAIT_MS = 5000;

/**
 * Collects hint batches; `until` waits (bounded) for a hint that covers a
 * path: the path itself or a directory above it (the receiver scans a hinted
 * directory recursively, and a file created right after its directory may
 * beat the new directory's watch).
 */
function collector(): { batches: string[][]; onChange: (p: string[]) => void; until: (path: string) => Promise<void> } {
  const batches: string[][] = [];
  let wake: (() => void) | null = null;
  return {
    batches,
    onChange: (p) => {
      batches.push(p);
      wake?.();
    },
    until: async (path) => {
      const deadline = Date.now() + WAIT_MS;
      const covers = (h: string): boolean => h === path || path.startsWith(`${h}/`);
      while (!batches.some((b) => b.some(covers))) {
        const left = deadline - Date.now();
        if (left <= 0) assert.fail(`no hint for ${path} within ${WAIT_MS} ms; got ${JSON.stringify(batches)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          wake = () => { clearTimeout(t); resolve(); };
        });
      }
    },
  };
}

test('create, modify and delete give relative hints within a bounded time', async () => {
  const root = join(base, 'a');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub/existing.txt'), 'x');
  const c = collector();
  const w = new FolderWatcher(root, { debounceMs: 50, onChange: c.onChange });
  await w.start();
  try {
    writeFileSync(join(root, 'new.txt'), 'hello');
    await c.until('new.txt');
    appendFileSync(join(root, 'sub/existing.txt'), 'more');
    await c.until('sub/existing.txt');
    unlinkSync(join(root, 'new.txt'));
    const before = c.batches.length;
    await c.until('new.txt');
    assert.ok(c.batches.length > before || c.batches.flat().filter((p) => p === 'new.txt').length >= 1);
    mkdirSync(join(root, 'sub/dir2'));
    writeFileSync(join(root, 'sub/dir2/\u00e9.txt'), '1');
    await c.until('sub/dir2/\u00e9.txt');
    // Once the new directory is watched, its files get their own hints.
    const deadline = Date.now() + WAIT_MS;
    while (w.watchedDirs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.watchedDirs, 3, 'root, sub and sub/dir2 are watched');
    c.batches.length = 0;
    writeFileSync(join(root, 'sub/dir2/later.txt'), '2');
    await c.until('sub/dir2/later.txt');
    assert.ok(c.batches.flat().includes('sub/dir2/later.txt'), 'exact hint in a newly watched directory');
    rmSync(join(root, 'sub/dir2'), { recursive: true });
    await c.until('sub/dir2');
    while (w.watchedDirs > 2 && Date.now() < deadline + WAIT_MS) await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.watchedDirs, 2, 'a deleted directory is no longer watched');
  } finally {
    await w.stop();
  }
});

test('events are debounced into one batch; state dir, temp files and ignored paths give none', async () => {
  const root = join(base, 'b');
  mkdirSync(join(root, '.sealsync'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  const c = collector();
  const w = new FolderWatcher(root, { debounceMs: 150, onChange: c.onChange, ignore: IgnoreRules.fromText('node_modules/\n', '') });
  await w.start();
  try {
    writeFileSync(join(root, '.sealsync/state'), 'x');
    writeFileSync(join(root, '.sealsync-tmp-abc'), 'x');
    writeFileSync(join(root, 'node_modules/dep.js'), 'x');
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `f${i}`), 'x');
    await c.until('f19');
    // Give stragglers one more debounce period, then check.
    await new Promise((r) => setTimeout(r, 300));
    const all = c.batches.flat();
    assert.ok(c.batches.length <= 3, `expected coalesced batches, got ${c.batches.length}`);
    for (let i = 0; i < 20; i++) assert.ok(all.includes(`f${i}`));
    assert.ok(!all.some((p) => p.startsWith('.sealsync') || p.startsWith('node_modules')), JSON.stringify(all));
  } finally {
    await w.stop();
  }
});

test('a burst waits for a quiet debounce period, and continuous writes still flush by the deadline', async () => {
  const root = join(base, 'burst');
  mkdirSync(root, { recursive: true });
  const c = collector();
  const debounceMs = 60; // deadline: MAX_WAIT_DEBOUNCES (10) periods after the first event
  const w = new FolderWatcher(root, { debounceMs, onChange: c.onChange });
  await w.start();
  try {
    const started = Date.now();
    let i = 0;
    // A write every 15 ms for 1.2 s: never quiet for a whole debounce period —
    // unless this loop itself is held up that long (a loaded machine delays the
    // 15 ms timer): then the folder really was quiet and a flush is right.
    let lastWrite = started;
    let quietGap = false;
    while (Date.now() - started < 1200) {
      const now = Date.now();
      if (now - lastWrite >= debounceMs) quietGap = true;
      writeFileSync(join(root, `w${i++}`), 'x');
      lastWrite = now;
      if (now - started < 3 * debounceMs && !quietGap) assert.equal(c.batches.length, 0, 'flushed before the folder was quiet');
      await new Promise((r) => setTimeout(r, 15));
    }
    // The deadline (600 ms after the first event) flushed at least once while writes went on.
    assert.ok(c.batches.length >= 1, 'continuous writes were never flushed');
    await c.until(`w${i - 1}`);
    const all = new Set(c.batches.flat());
    for (let k = 0; k < i; k++) assert.ok(all.has(`w${k}`), `w${k} missing`);
  } finally {
    await w.stop();
  }
});

test('a symlinked directory is not followed', async () => {
  const root = join(base, 'd');
  const outside = join(base, 'd-outside');
  mkdirSync(root);
  mkdirSync(outside);
  symlinkSync(outside, join(root, 'link'));
  const c = collector();
  const w = new FolderWatcher(root, { debounceMs: 30, onChange: c.onChange });
  await w.start();
  try {
    assert.equal(w.watchedDirs, 1, 'only the root is watched');
    writeFileSync(join(outside, 'x'), 'x');
    writeFileSync(join(root, 'marker'), 'x');
    await c.until('marker');
    assert.ok(!c.batches.flat().some((p) => p.startsWith('link/')), JSON.stringify(c.batches));
  } finally {
    await w.stop();
  }
});

test('stop closes the watcher and its timers', async () => {
  const root = join(base, 'c');
  mkdirSync(root);
  // Closed fs.watch handles leave the list on a later loop turn: let earlier tests' handles go first.
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));
  await settle();
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  const c = collector();
  const w = new FolderWatcher(root, { debounceMs: 10_000, onChange: c.onChange });
  await w.start();
  writeFileSync(join(root, 'pending'), 'x'); // leaves a debounce timer pending
  await new Promise((r) => setTimeout(r, 200));
  await w.stop();
  await settle();
  const afterStop = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  assert.deepEqual(afterStop, before);
  assert.deepEqual(c.batches, [], 'nothing delivered after stop');
});

test('a directory that appears is listed: every name in it is hinted, and it is reported as crawled', async () => {
  const root = join(base, 'crawl');
  mkdirSync(root, { recursive: true });
  const crawled = new Set<string>();
  const c = collector();
  // A long debounce keeps the new directory's hint pending while its listing (a few readdirs) completes.
  const w = new FolderWatcher(root, {
    debounceMs: 1000,
    onChange: (p, dirs) => {
      for (const d of dirs) crawled.add(d);
      c.onChange(p);
    },
  });
  await w.start();
  try {
    // Made and filled in one go, before the watcher can place a watch on it: only the listing sees the files.
    mkdirSync(join(root, 'new/inner'), { recursive: true });
    writeFileSync(join(root, 'new/a.txt'), 'a');
    writeFileSync(join(root, 'new/inner/b.txt'), 'b');
    writeFileSync(join(root, 'new/.sealsync-tmp-1'), 'temp');
    for (const p of ['new/a.txt', 'new/inner', 'new/inner/b.txt']) {
      const deadline = Date.now() + WAIT_MS;
      while (!c.batches.flat().includes(p)) {
        if (Date.now() > deadline) assert.fail(`no hint of its own for ${p}; got ${JSON.stringify(c.batches)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(crawled.has('new'), `the new directory is reported as crawled (got ${JSON.stringify([...crawled])})`);
    assert.ok(!c.batches.flat().some((p) => p.includes('.sealsync-tmp-')), 'temp files are never hinted');
    // A crawled directory is always one of the hints of its batch.
    assert.ok(c.batches.flat().includes('new'));
  } finally {
    await w.stop();
  }
});

test('a big tree moved in is left to a recursive scan: its names are not hinted one by one', async () => {
  const root = join(base, 'moved-in');
  const outside = join(base, 'moved-in-source');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(outside, 'tree'), { recursive: true });
  for (let i = 0; i <= MAX_CRAWL_HINTS; i++) writeFileSync(join(outside, 'tree', `f${i}`), '');
  const crawled = new Set<string>();
  const c = collector();
  const w = new FolderWatcher(root, { debounceMs: 300, onChange: (p, dirs) => { for (const d of dirs) crawled.add(d); c.onChange(p); } });
  await w.start();
  try {
    renameSync(join(outside, 'tree'), join(root, 'tree'));
    await c.until('tree');
    await new Promise((r) => setTimeout(r, 600)); // past a debounce: the listing is done
    assert.ok(!crawled.has('tree'), 'not reported as crawled');
    assert.ok(c.batches.flat().filter((p) => p.startsWith('tree/')).length === 0, 'no name of it hinted on its own');
  } finally {
    await w.stop();
  }
});

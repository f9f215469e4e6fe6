import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IgnoreRules } from './ignore-rules.js';
import { walkFolder, type SkipNotice, type WalkEntry } from './walk.js';

const base = mkdtempSync(join(tmpdir(), 'sealsync-walk-'));
after(() => rmSync(base, { recursive: true, force: true }));
const noRules = IgnoreRules.fromText('', '');
let n = 0;

function freshRoot(): string {
  const root = join(base, `r${n++}`);
  mkdirSync(root);
  return root;
}

async function walk(root: string, ignore = noRules, extra: { readdir?: (p: string) => Promise<string[]> } = {}): Promise<{ entries: WalkEntry[]; skips: SkipNotice[] }> {
  const entries: WalkEntry[] = [];
  const skips: SkipNotice[] = [];
  for await (const e of walkFolder(root, { ignore, onSkip: (s) => skips.push(s), ...extra })) entries.push(e);
  return { entries, skips };
}

test('reports files, dirs and symlinks with lstat data, never following links', async () => {
  const root = freshRoot();
  mkdirSync(join(root, 'a/b'), { recursive: true });
  writeFileSync(join(root, 'a/b/c.txt'), 'hello');
  writeFileSync(join(root, 'top.bin'), Buffer.alloc(1000));
  chmodSync(join(root, 'top.bin'), 0o640);
  const outside = join(base, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret'), 's');
  symlinkSync(outside, join(root, 'link-dir'));
  symlinkSync('../nowhere', join(root, 'a/dangling'));
  const { entries, skips } = await walk(root);
  assert.deepEqual(skips, []);
  assert.deepEqual(entries.map((e) => [e.path, e.kind]), [
    ['a', 'dir'], ['link-dir', 'symlink'], ['top.bin', 'file'], ['a/b', 'dir'], ['a/dangling', 'symlink'], ['a/b/c.txt', 'file'],
  ]);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const top = byPath.get('top.bin')!;
  const st = statSync(join(root, 'top.bin'));
  assert.equal(top.size, 1000);
  assert.equal(top.mode, 0o640);
  assert.equal(top.mtimeMs, Math.floor(st.mtimeMs));
  assert.equal(top.ino, st.ino);
  assert.equal(top.dev, st.dev);
  assert.equal(top.diskPath, undefined);
  assert.equal(byPath.get('link-dir')!.symlinkTarget, outside);
  assert.equal(byPath.get('link-dir')!.size, 0);
  assert.equal(byPath.get('a/dangling')!.symlinkTarget, '../nowhere');
  assert.equal(byPath.get('a')!.size, 0);
  assert.ok(!entries.some((e) => e.path.includes('secret')), 'did not walk into the symlinked directory');
});

test('sockets and FIFOs are skipped with a notice', async () => {
  const root = freshRoot();
  writeFileSync(join(root, 'ok'), '');
  const fifoMade = spawnSync('mkfifo', [join(root, 'fifo')]).status === 0;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
  try {
    const { entries, skips } = await walk(root);
    assert.deepEqual(entries.map((e) => e.path), ['ok']);
    const expected = [...(fifoMade ? [{ path: 'fifo', reason: 'special' }] : []), { path: 'sock', reason: 'special' }];
    assert.deepEqual(skips.map((s) => ({ path: s.path, reason: s.reason })), expected);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('an unreadable directory is reported and the walk goes on (permission bits)', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: chmod 000 does not stop root from reading; the next test injects the failure instead');
    return;
  }
  const root = freshRoot();
  mkdirSync(join(root, 'locked'));
  writeFileSync(join(root, 'locked/inner'), 'x');
  writeFileSync(join(root, 'z'), 'x');
  chmodSync(join(root, 'locked'), 0o000);
  try {
    const { entries, skips } = await walk(root);
    assert.deepEqual(entries.map((e) => e.path), ['locked', 'z']);
    assert.deepEqual(skips, [{ path: 'locked', reason: 'unreadable', detail: 'EACCES' }]);
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
  }
});

test('an unreadable directory is reported and the walk goes on (injected EACCES)', async () => {
  const root = freshRoot();
  mkdirSync(join(root, 'locked/deeper'), { recursive: true });
  mkdirSync(join(root, 'open'));
  writeFileSync(join(root, 'open/f'), 'x');
  const { readdir } = await import('node:fs/promises');
  const failing = async (p: string): Promise<string[]> => {
    if (p === join(root, 'locked')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return readdir(p);
  };
  const { entries, skips } = await walk(root, noRules, { readdir: failing });
  assert.deepEqual(entries.map((e) => e.path), ['locked', 'open', 'open/f']);
  assert.deepEqual(skips, [{ path: 'locked', reason: 'unreadable', detail: 'EACCES' }]);
  // The root itself being unreadable is an error, not a notice.
  await assert.rejects(walk(root, noRules, { readdir: async () => { throw Object.assign(new Error('x'), { code: 'EACCES' }); } }), { code: 'ERR_PATH_UNREADABLE' });
});

test('names are NFC; NFD names keep their disk spelling; duplicates and case collisions are reported', async () => {
  const root = freshRoot();
  const nfd = 'Cafe\u0301'; // "Café" decomposed
  mkdirSync(join(root, nfd));
  writeFileSync(join(root, nfd, 'x'), '1');
  mkdirSync(join(root, 'dup'));
  writeFileSync(join(root, 'dup', 'e\u0301'), 'nfd');
  writeFileSync(join(root, 'dup', '\u00e9'), 'nfc');
  writeFileSync(join(root, 'Readme'), '');
  writeFileSync(join(root, 'README'), '');
  const { entries, skips } = await walk(root);
  const cafe = entries.find((e) => e.path === 'Caf\u00e9');
  assert.ok(cafe, 'NFC path reported');
  assert.equal(cafe.diskPath, nfd);
  assert.equal(entries.find((e) => e.path === 'Caf\u00e9/x')?.diskPath, `${nfd}/x`);
  const dup = entries.filter((e) => e.path === 'dup/\u00e9');
  assert.equal(dup.length, 1);
  assert.equal(dup[0]!.diskPath, undefined, 'the NFC spelling wins');
  assert.ok(skips.some((s) => s.reason === 'invalid-name' && s.path === 'dup/\u00e9'));
  assert.ok(entries.some((e) => e.path === 'README') && entries.some((e) => e.path === 'Readme'), 'both case variants reported');
  assert.deepEqual(skips.filter((s) => s.reason === 'case-collision').map((s) => s.path), ['Readme']);
});

test('names the path rules refuse are skipped as invalid-name', async () => {
  const root = freshRoot();
  writeFileSync(join(root, 'back\\slash'), '');
  writeFileSync(join(root, 'ctl\u0001'), '');
  writeFileSync(join(root, 'fine'), '');
  const { entries, skips } = await walk(root);
  assert.deepEqual(entries.map((e) => e.path), ['fine']);
  assert.deepEqual(skips.map((s) => [s.path, s.reason]), [['back\\slash', 'invalid-name'], ['ctl\u0001', 'invalid-name']]);
});

test('ignored paths are not reported or entered; .sealsync/ at the root never is', async () => {
  const root = freshRoot();
  mkdirSync(join(root, '.sealsync'));
  writeFileSync(join(root, '.sealsync/state'), '');
  mkdirSync(join(root, 'build/deep'), { recursive: true });
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub/.DS_Store'), '');
  writeFileSync(join(root, 'sub/.sealsync-tmp-123'), '');
  writeFileSync(join(root, 'sub/app.log'), '');
  writeFileSync(join(root, 'sub/keep.txt'), '');
  writeFileSync(join(root, '.sealignore'), 'build/\n*.log\n!.sealsync\n');
  const listed: string[] = [];
  const { readdir } = await import('node:fs/promises');
  const spy = (p: string): Promise<string[]> => {
    listed.push(p);
    return readdir(p);
  };
  const { entries } = await walk(root, await IgnoreRules.load(root), { readdir: spy });
  assert.deepEqual(entries.map((e) => e.path), ['.sealignore', 'sub', 'sub/keep.txt']);
  assert.ok(!listed.some((p) => p.includes('build') || p.includes('.sealsync')), `listed ${listed.join(', ')}`);
});

test('bad roots and aborts fail with catalog errors', async () => {
  await assert.rejects(walk(join(base, 'missing')), { code: 'ERR_PATH_MISSING' });
  const root = freshRoot();
  writeFileSync(join(root, 'file'), '');
  await assert.rejects(walk(join(root, 'file')), { code: 'ERR_PATH_NOT_DIR' });
  const it = walkFolder(root, { ignore: noRules, signal: AbortSignal.abort() });
  await assert.rejects(async () => { for await (const _e of it) { /* nothing */ } }, { code: 'ERR_ABORTED' });
});

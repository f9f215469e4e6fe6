/**
 * Acceptance for `sealsync key …`, running the real CLI as a child process.
 * Exhaustive single-character checks live in src/crypto/key-text.test.ts (in
 * process); here a spread of positions over every key type checks that the
 * CLI turns each mistake into one line on stderr and a non-zero exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const RUN_TIMEOUT_MS = 20_000;
const CONCURRENCY = 2;
/** Every STRIDE-th position, plus the first and the last, of each key. */
const STRIDE = 36;

interface Result { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: RUN_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `sealsync ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function assertOneLineError(r: Result, pattern: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: exit code 0`);
  assert.equal(r.stdout, '', `${what}: printed to stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: stderr is not one line: ${r.stderr}`);
  assert.match(lines[0] as string, /^sealsync: /, what);
  assert.match(lines[0] as string, pattern, `${what}: ${lines[0]}`);
}

async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(workers);
}

test('key new / derive / inspect / qr acceptance', async () => {
  const w = (await ok('key', 'new')).trim();
  assert.match(w, /^W[A-Z2-7]{58}$/);
  const [r, eFromW] = (await Promise.all([ok('key', 'derive', '--read-only', w), ok('key', 'derive', '--encrypted', w)])).map((s) => s.trim()) as [string, string];
  assert.match(r, /^R[A-Z2-7]{109}$/);
  const eFromR = (await ok('key', 'derive', '--encrypted', r)).trim();
  assert.equal(eFromW, eFromR, 'derive --encrypted of W must equal that of its R');

  const inspected = await Promise.all([w, r, eFromW].map(async (k) => JSON.parse(await ok('key', 'inspect', k, '--json')) as Record<string, string>));
  assert.deepEqual(inspected.map((i) => i.type), ['rw', 'ro', 'encrypted']);
  assert.equal(new Set(inspected.map((i) => i.folderId)).size, 1, 'all three keys name the same folder');
  for (const i of inspected) {
    const text = JSON.stringify(i);
    for (const secretish of [w, r, eFromW]) assert.equal(text.includes(secretish.slice(1, 20)), false, 'inspect leaked key material');
  }
  const human = await ok('key', 'inspect', r);
  assert.match(human, /read-only/);
  assert.match(human, new RegExp(inspected[0]?.folderIdText ?? 'missing'));

  assertOneLineError(await cli('key', 'derive', '--read-only', eFromW), /derive|encrypted/, 'E -> R');
  assertOneLineError(await cli('key', 'derive', '--read-only', r), /read-only/, 'R -> R/W');
  assertOneLineError(await cli('key', 'derive', '--encrypted', eFromW), /encrypted/, 'E -> E');

  const dir = await mkdtemp(join(tmpdir(), 'sealsync-key-cli-'));
  try {
    const png = join(dir, 'key.png');
    const [term] = await Promise.all([ok('key', 'qr', w), ok('key', 'qr', w, '--png', png)]);
    assert.ok(term.split('\n').length > 10, 'terminal QR has rows');
    assert.equal((await stat(png)).mode & 0o777, 0o600);
    assert.deepEqual([...(await readFile(png)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('any single changed character is refused with a one-line reason', async () => {
  const w = (await ok('key', 'new')).trim();
  const r = (await ok('key', 'derive', '--read-only', w)).trim();
  const e = (await ok('key', 'derive', '--encrypted', r)).trim();
  const cases: Array<{ key: string; pos: number }> = [];
  for (const key of [w, r, e]) {
    for (let pos = 0; pos < key.length; pos += STRIDE) cases.push({ key, pos });
    cases.push({ key, pos: key.length - 1 });
  }
  await pool(cases, async ({ key, pos }) => {
    const original = key[pos] as string;
    // rotate through the alphabet so different cases try different substitutions
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const sub = alphabet[(alphabet.indexOf(original) + 1 + (pos % 30)) % 32] as string;
    const changed = key.slice(0, pos) + sub + key.slice(pos + 1);
    assertOneLineError(await cli('key', 'inspect', changed), /checksum|length|type|character/, `${key[0]} key, position ${pos}`);
  });
  assertOneLineError(await cli('key', 'inspect', w.slice(0, 10) + '1' + w.slice(11)), /character/, 'non-alphabet character');
  assertOneLineError(await cli('key', 'inspect', w.slice(0, -1)), /length/, 'missing character');
  assertOneLineError(await cli('key', 'inspect', 'X' + w.slice(1)), /type/, 'unknown type');
  assert.ok(cases.length >= 12);
});

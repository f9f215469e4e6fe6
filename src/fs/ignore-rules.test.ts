import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IgnoreRules, MAX_IGNORE_FILE_BYTES, MAX_IGNORE_RULES, TEMP_PREFIX, isTempName } from './ignore-rules.js';

const base = mkdtempSync(join(tmpdir(), 'sealsync-ignore-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('built-in ignores: state dir, temp files and OS junk, at any depth', () => {
  const r = IgnoreRules.fromText('', '');
  for (const p of ['.DS_Store', 'a/.DS_Store', 'b/Thumbs.db', 'THUMBS.DB', 'Desktop.ini', 'x/._photo.jpg', '.Trashes',
    '.Spotlight-V100', '.fseventsd', 'docs/~$report.docx', `d/${TEMP_PREFIX}abc`, `${TEMP_PREFIX}x`, '.sealsync', '.sealsync/ignore']) {
    assert.equal(r.ignores(p, false), true, p);
  }
  assert.equal(r.ignores('.sealsync', true), true);
  for (const p of ['sub/.sealsync', 'sub/.SEALSYNC/ignore', '.SealSync', '.SEALSYNC/ignore']) assert.equal(r.ignores(p, false), true, p);
  for (const p of ['readme.md', 'a/b/c', 'sub/.sealsyncx', '.sealignore', 'photo._jpg', 'DS_Store']) {
    assert.equal(r.ignores(p, false), false, p);
  }
  assert.equal(isTempName(`${TEMP_PREFIX}0123`), true);
  assert.equal(isTempName('report.tmp'), false);
});

test('user rules: gitignore syntax, shared then local, case-sensitive', () => {
  const r = IgnoreRules.fromText('# comment\n*.log\nbuild/\n/only-root.txt\n*.tmp\n', '!keep.tmp\n');
  assert.equal(r.ignores('a.log', false), true);
  assert.equal(r.ignores('deep/er/a.log', false), true);
  assert.equal(r.ignores('A.LOG', false), false, 'case-sensitive');
  assert.equal(r.ignores('build', true), true);
  assert.equal(r.ignores('build', false), false, 'build/ matches directories only');
  assert.equal(r.ignores('x/build/out.o', false), true, 'inside an ignored directory');
  assert.equal(r.ignores('only-root.txt', false), true);
  assert.equal(r.ignores('sub/only-root.txt', false), false, 'anchored to the root');
  assert.equal(r.ignores('junk.tmp', false), true);
  assert.equal(r.ignores('keep.tmp', false), false, 'the device-local file re-includes');
});

test('.sealignore is never ignored and built-ins cannot be re-included', () => {
  const r = IgnoreRules.fromText('*\n!.DS_Store\n!.sealsync\n', '');
  assert.equal(r.ignores('.sealignore', false), false);
  assert.equal(r.ignores('anything', false), true);
  assert.equal(r.ignores('.DS_Store', false), true);
  assert.equal(r.ignores('.sealsync', true), true);
});

test('fingerprint follows the rule text', () => {
  const a = IgnoreRules.fromText('*.log', '');
  assert.equal(a.fingerprint, IgnoreRules.fromText('*.log', '').fingerprint);
  assert.match(a.fingerprint, /^[0-9a-f]{32}$/);
  assert.notEqual(a.fingerprint, IgnoreRules.fromText('*.log\n', '').fingerprint);
  assert.notEqual(a.fingerprint, IgnoreRules.fromText('', '*.log').fingerprint);
});

test('load reads both files, tolerates missing ones and refuses oversized ones', async () => {
  const root = join(base, 'r1');
  mkdirSync(join(root, '.sealsync'), { recursive: true });
  assert.equal((await IgnoreRules.load(root)).fingerprint, IgnoreRules.fromText('', '').fingerprint);
  writeFileSync(join(root, '.sealignore'), '\uFEFF*.log\n');
  writeFileSync(join(root, '.sealsync/ignore'), 'private/\n');
  const r = await IgnoreRules.load(root);
  assert.equal(r.ignores('x.log', false), true, 'BOM stripped');
  assert.equal(r.ignores('private', true), true);

  const linked = join(base, 'r2');
  mkdirSync(linked);
  writeFileSync(join(base, 'elsewhere'), '*\n');
  symlinkSync(join(base, 'elsewhere'), join(linked, '.sealignore'));
  assert.equal((await IgnoreRules.load(linked)).ignores('file', false), false, 'a symlinked .sealignore is not followed');

  const big = join(base, 'r3');
  mkdirSync(big);
  writeFileSync(join(big, '.sealignore'), 'x'.repeat(MAX_IGNORE_FILE_BYTES + 1));
  await assert.rejects(IgnoreRules.load(big), { code: 'ERR_CONFIG_INVALID' });
  assert.throws(() => IgnoreRules.fromText(Array.from({ length: MAX_IGNORE_RULES + 1 }, (_, i) => `f${i}`).join('\n'), ''), { code: 'ERR_CONFIG_INVALID' });
});

// Found by fuzzing (test/fuzz, target ignore-files; docs/fuzzing.md): the `ignore`
// package turned each `**` in the middle of a rule into a backtracking regex group, so
// one shared `.sealignore` line from any peer with write access cost time exponential
// in the number of such `**` on a deep path (over 20 s for this one; 1000 rules of a
// single `**` took 30 s on a 2000-level path). fs/gitignore-match.ts cannot backtrack.
test('one hostile rule costs a deep path at most 100 ms', () => {
  const rules = IgnoreRules.fromText('**/a/**/a/**/a/**/a/**/a/**/a/**/b', '');
  const before = process.cpuUsage();
  rules.ignores(Array(200).fill('a').join('/'), false);
  const used = process.cpuUsage(before);
  assert.ok((used.user + used.system) / 1000 < 100);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ignore from 'ignore';
import { GitignoreMatcher } from './gitignore-match.js';

const m = (rules: string, ignoreCase = false): GitignoreMatcher => new GitignoreMatcher(ignoreCase).add(rules);

test('gitignore(5) cases', () => {
  const cases: [rules: string, path: string, isDir: boolean, expected: boolean][] = [
    ['*.log', 'a.log', false, true],
    ['*.log', 'deep/er/a.log', false, true],
    ['*.log', 'a.logx', false, false],
    ['build/', 'build', true, true],
    ['build/', 'build', false, false],
    ['build/', 'src/build', true, true],
    ['build/', 'build/out.o', false, true],
    ['/top', 'top', false, true],
    ['/top', 'sub/top', false, false],
    ['doc/frotz', 'doc/frotz', false, true],
    ['doc/frotz', 'a/doc/frotz', false, false],
    ['**/foo', 'x/y/foo', false, true],
    ['**/foo/bar', 'x/foo/bar', false, true],
    ['abc/**', 'abc/x/y', false, true],
    ['abc/**', 'abc', true, false],
    ['a/**/b', 'a/b', false, true],
    ['a/**/b', 'a/x/y/b', false, true],
    ['a/**/b', 'x/a/b', false, false],
    ['*.txt\n!keep.txt', 'keep.txt', false, false],
    ['*.txt\n!keep.txt', 'drop.txt', false, true],
    ['dir/\n!dir/keep.txt', 'dir/keep.txt', false, true], // a parent that is ignored wins
    ['f?o', 'foo', false, true],
    ['f?o', 'fo', false, false],
    ['[abc].md', 'b.md', false, true],
    ['[!abc].md', 'b.md', false, false],
    ['[^abc].md', 'd.md', false, true],
    ['[a-c]x', 'cx', false, true],
    ['[a-c]x', 'dx', false, false],
    ['[unclosed', '[unclosed', false, true],
    ['\\#hash', '#hash', false, true],
    ['#comment', '#comment', false, false],
    ['\\!bang', '!bang', false, true],
    ['trail\\ ', 'trail ', false, true],
    ['trail   ', 'trail', false, true],
    ['a\\*b', 'a*b', false, true],
    ['a\\*b', 'axb', false, false],
    ['*', 'anything/at/all', false, true],
    ['', 'x', false, false],
  ];
  for (const [rules, path, isDir, expected] of cases) {
    assert.equal(m(rules).ignores(path, isDir), expected, `${JSON.stringify(rules)} on ${path}${isDir ? '/' : ''}`);
  }
  assert.equal(m('thumbs.db', true).ignores('x/THUMBS.DB', false), true, 'ignoreCase');
  assert.equal(m('thumbs.db').ignores('x/THUMBS.DB', false), false, 'case-sensitive by default');
  assert.equal(m('é*').ignores('éclair', false), true, 'non-ASCII names');
});

// The `ignore` package (gitignore semantics, backtracking regexes) is the
// reference on inputs small enough not to hang it.
const segment = fc.constantFrom('a', 'b', 'ab', '*', '?', 'a*', '*b', '**', '[ab]', '[!a]', 'a?');
const ruleArb = fc
  .tuple(fc.boolean(), fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([negate, lead, segs, trail]) => `${negate ? '!' : ''}${lead ? '/' : ''}${segs.join('/')}${trail ? '/' : ''}`);
const pathArb = fc.array(fc.constantFrom('a', 'b', 'ab', 'ba', 'aa', 'bb', 'c'), { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));

test('agrees with the ignore package on generated rules and paths', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), pathArb, fc.boolean(), (rules, path, isDir) => {
      const text = rules.join('\n');
      const reference = ignore().add(text).ignores(isDir ? `${path}/` : path);
      assert.equal(m(text).ignores(path, isDir), reference, `${JSON.stringify(text)} on ${path}${isDir ? '/' : ''}`);
    }),
    { numRuns: 3000, seed: 20261207 },
  );
});

test('agrees with the ignore package when case is ignored', () => {
  const mixedPath = fc.array(fc.constantFrom('a', 'A', 'aB', 'Ba', 'b'), { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 3 }), mixedPath, fc.boolean(), (rules, path, isDir) => {
      const text = rules.join('\n');
      const reference = ignore({ ignorecase: true }).add(text).ignores(isDir ? `${path}/` : path);
      assert.equal(m(text, true).ignores(path, isDir), reference, `${JSON.stringify(text)} on ${path}${isDir ? '/' : ''}`);
    }),
    { numRuns: 1000, seed: 20261208 },
  );
});

test('hostile rules cost a deep path little: no backtracking', () => {
  const hostile = ['**/a/**/a/**/a/**/a/**/a/**/a/**/b', '*a*a*a*a*a*a*a*a*a*a*b', Array(500).fill('**').join('/') + '/b'];
  const deepPath = Array(2000).fill('a').join('/');
  const longName = 'a'.repeat(255);
  for (const rule of hostile) {
    const rules = m(rule);
    const before = process.cpuUsage();
    rules.ignores(deepPath, false);
    rules.ignores(longName, false);
    const used = process.cpuUsage(before);
    assert.ok((used.user + used.system) / 1000 < 1000, `${rule.slice(0, 40)}: ${(used.user + used.system) / 1000} ms`);
  }
  // The rule-count limit (MAX_IGNORE_RULES) of such rules, on the deepest path.
  const many = m(Array.from({ length: 1000 }, (_, i) => `**/a/**/a${i % 7}/**`).join('\n'));
  const before = process.cpuUsage();
  many.ignores(deepPath, false);
  const used = process.cpuUsage(before);
  assert.ok((used.user + used.system) / 1000 < 5000, `1000 rules: ${(used.user + used.system) / 1000} ms`);
});

/**
 * Ignore files (src/fs/ignore-rules.ts): `.sealignore` syncs from any peer
 * with write access, so its rules are hostile text. The input is
 * `shared rules \0 local rules` (UTF-8; without a NUL it is all shared); the
 * decoder builds the rules and asks about a fixed set of paths, as a scan
 * does. Hostile samples are files at the rule and size limits and past them. Oracles: the fixed layers hold whatever
 * the rules say (the state directory and temp files are ignored, junk too,
 * `.sealignore` never), and the same text gives the same fingerprint.
 */
import fc from 'fast-check';
import { IgnoreRules, MAX_IGNORE_FILE_BYTES, MAX_IGNORE_RULES } from '../../../src/fs/ignore-rules.js';
import { DEFAULT_BOUNDS, bytesOf, oracle, textOf, type FuzzTarget } from '../target.js';

/**
 * Paths a scan asks about, deep and long ones included: the matcher
 * (fs/gitignore-match.ts) cannot backtrack, so a 200-level path and 255-byte
 * names must stay within the time bound whatever the rules (they hung the
 * regex-based `ignore` package this replaced: docs/fuzzing.md, finding 6).
 * Its cost is linear in rules × depth; gitignore-match.test.ts bounds the
 * 2000-level case.
 */
const LONG_NAME = 'a'.repeat(255);
const PATHS: ReadonlyArray<readonly [string, boolean]> = [
  ['a', false], ['a.txt', false], ['dir', true], ['dir/a.txt', false], ['dir/sub/b.log', false], ['build', true],
  ['build/out/x.o', false], ['node_modules/pkg/index.js', false], ['.hidden', false], ['Résumé.pdf', false],
  ['日本語/ファイル.txt', false], ['a b/c d.txt', false], ['[x]/*?.txt', false], ['!important', false], ['#notes', false],
  ['a\\b', false], [LONG_NAME, false], [`${LONG_NAME}/${LONG_NAME}.txt`, false],
  [Array(8).fill('a').join('/'), false], [Array(8).fill('ab').join('/'), true], [Array(200).fill('a').join('/'), false],
];
const ALWAYS_IGNORED: ReadonlyArray<readonly [string, boolean]> = [
  ['.sealsync', true], ['.sealsync/ignore', false], ['dir/.sealsync-tmp-123', false], ['.DS_Store', false], ['dir/Thumbs.db', false], ['~$doc.docx', false],
];
const NEVER_IGNORED: readonly [string, boolean] = ['.sealignore', false];

const name = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'b', '.', '-', '_', 'é', '日', ' ', '\\ ', '\\#', '\\!') });
const globPart = fc.oneof(name, fc.constantFrom('*', '**', '?', '[abc]', '[!a-z]', '[a-]', '*.log', '**/', '\\*', '{a,b}'));
const rule = fc.tuple(
  fc.constantFrom('', '', '!', '/', '\\', '#'),
  fc.array(globPart, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
  fc.constantFrom('', '', '/', ' ', '\\ ', '\r'),
).map(([pre, body, post]) => `${pre}${body}${post}`);
const ruleFile = fc.array(fc.oneof({ weight: 8, arbitrary: rule }, { weight: 1, arbitrary: fc.constantFrom('', '# comment', '   ') }), { maxLength: 12 })
  .map((lines) => lines.join('\n'));

const valid = fc.tuple(ruleFile, fc.option(ruleFile)).map(([shared, local]) => bytesOf(local === null ? shared : `${shared}\0${local}`));

/** Rule files at the rule and size limits, and one rule past them: the limits must hold and be cheap. */
const hostile = fc.tuple(fc.constantFrom('*.log', 'build/', '!keep.txt', '/dist', 'a/**/b', '[a-z]*.tmp'), fc.constantFrom(MAX_IGNORE_RULES, MAX_IGNORE_RULES + 1, 5000))
  .map(([glob, n]) => bytesOf(Array.from({ length: n }, (_, i) => `${glob}${i}`).join('\n')));

function split(input: Uint8Array): [string, string] {
  const text = textOf(input);
  const nul = text.indexOf('\0');
  return nul < 0 ? [text, ''] : [text.slice(0, nul), text.slice(nul + 1)];
}

export const ignoreFilesTarget: FuzzTarget = {
  name: 'ignore-files',
  description: 'IgnoreRules.fromText + ignores (src/fs/ignore-rules.ts) on .sealignore / local rule text',
  valid,
  hostile,
  dictionary: ['*', '**', '**/', '?', '[', ']', '[!', '\\', '!', '#', '/', '\n', '\r\n', ' ', '{', '}', '\uFEFF', '.sealsync', '.sealignore'],
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: 2 * MAX_IGNORE_FILE_BYTES + 16,
  open: () => ({
    decode(input) {
      const [shared, local] = split(input);
      const rules = IgnoreRules.fromText(shared, local);
      const answers = PATHS.map(([p, dir]) => rules.ignores(p, dir));
      return { rules, answers };
    },
    check(input, decoded) {
      const { rules } = decoded as { rules: IgnoreRules };
      for (const [p, dir] of ALWAYS_IGNORED) oracle(rules.ignores(p, dir), `rules un-ignored ${p}`);
      oracle(!rules.ignores(...NEVER_IGNORED), 'rules ignored .sealignore');
      const [shared, local] = split(input);
      oracle(IgnoreRules.fromText(shared, local).fingerprint === rules.fingerprint, 'the same rules gave another fingerprint');
    },
  }),
};

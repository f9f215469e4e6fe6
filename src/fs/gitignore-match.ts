/**
 * gitignore patterns, matched without backtracking.
 *
 * Why not a regex: `.sealignore` syncs from any peer with write access, and a
 * regex built from `**` groups backtracks. One line such as
 * `**\/a/**\/a/**\/a/**\/b` took over 20 s on a 200-level path with the
 * `ignore` package (found by fuzzing; docs/fuzzing.md). Here a rule is a list
 * of path segments, run as an automaton over the path's segments (its
 * states are positions in the rule), so each (rule segment, path segment)
 * pair is decided at most once; inside
 * one segment, `*` is matched with the classic single-restart wildcard scan.
 * The cost of one rule on one path is therefore bounded by
 * (rule segments × path segments) × (segment pattern length × name length),
 * whatever the input.
 *
 * Semantics follow gitignore(5) as the `ignore` package reads it (the tests
 * compare both on generated rules): blank lines and `#` comments skipped,
 * `\` escapes, trailing spaces trimmed unless escaped, `!` re-includes, a
 * trailing `/` matches directories only, a `/` at the start or in the middle
 * anchors the rule at the root (otherwise it matches at any depth), `**` as a
 * whole segment matches any number of segments (a trailing `/**` at least
 * one), `*` and `?` never match `/`, `[...]` classes with ranges and `!`/`^`
 * negation. A path under an ignored directory is ignored, whatever later
 * rules say (git cannot re-include a file whose parent is excluded).
 */

type Token =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'star' }
  | { readonly kind: 'class'; readonly negate: boolean; readonly ranges: readonly (readonly [number, number])[] };

type Segment = { readonly kind: 'globstar' } | { readonly kind: 'name'; readonly tokens: readonly Token[] };

interface Rule {
  readonly negate: boolean;
  readonly dirOnly: boolean;
  readonly segments: readonly Segment[];
}

const GLOBSTAR: Segment = { kind: 'globstar' };

/** A set of gitignore rules, in order (a later matching rule wins). */
export class GitignoreMatcher {
  readonly #rules: Rule[] = [];

  constructor(private readonly ignoreCase: boolean) {}

  /** Adds every rule of a rule file's text. */
  add(text: string): this {
    for (const line of text.split(/\r?\n/)) {
      const rule = parseRule(line, this.ignoreCase);
      if (rule) this.#rules.push(rule);
    }
    return this;
  }

  /**
   * Whether `relPath` ('/'-separated, relative, no empty segment) is ignored.
   * Every ancestor directory is checked first, from the root down.
   */
  ignores(relPath: string, isDir: boolean): boolean {
    if (this.#rules.length === 0) return false;
    // Each name as code points, split once for every rule.
    const names = (this.ignoreCase ? relPath.toLowerCase() : relPath).split('/').map((n) => Array.from(n));
    // One pass per rule gives its verdict on every ancestor at once.
    const rules = this.#rules;
    const matches = rules.map((rule) => matchPrefixes(rule.segments, names));
    for (let depth = 1; depth <= names.length; depth++) {
      const dir = depth < names.length || isDir;
      let ignored = false;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r] as Rule;
        if (rule.negate !== ignored || (rule.dirOnly && !dir)) continue; // cannot change the verdict
        if ((matches[r] as Uint8Array)[depth]) ignored = !rule.negate;
      }
      if (ignored) return true;
    }
    return false;
  }
}

/** One line of a rule file; undefined for blanks and comments. */
function parseRule(line: string, ignoreCase: boolean): Rule | undefined {
  let text = trimUnescapedTrailingSpaces(line);
  if (text === '' || text.startsWith('#')) return undefined;
  let negate = false;
  if (text.startsWith('!')) {
    negate = true;
    text = text.slice(1);
  }
  let dirOnly = false;
  while (text.endsWith('/') && !text.endsWith('\\/')) {
    dirOnly = true;
    text = text.slice(0, -1);
  }
  if (text === '') return undefined;
  // A '/' other than a trailing one anchors the rule at the root.
  const anchored = hasUnescapedSlash(text);
  if (text.startsWith('/')) text = text.slice(1);
  const parts = splitUnescaped(text);
  if (parts.some((p) => p === '')) return undefined; // 'a//b' names nothing
  const segments: Segment[] = anchored ? [] : [GLOBSTAR];
  for (const part of parts) {
    if (part === '**') {
      if (segments[segments.length - 1] !== GLOBSTAR) segments.push(GLOBSTAR);
    } else {
      segments.push({ kind: 'name', tokens: parseGlob(ignoreCase ? part.toLowerCase() : part) });
    }
  }
  return { negate, dirOnly, segments };
}

function trimUnescapedTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ' && !isEscaped(line, end - 1)) end--;
  return line.slice(0, end);
}

/** True when the character at `i` follows an odd number of backslashes. */
function isEscaped(s: string, i: number): boolean {
  let n = 0;
  for (let k = i - 1; k >= 0 && s[k] === '\\'; k--) n++;
  return n % 2 === 1;
}

function hasUnescapedSlash(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] === '/' && !isEscaped(s, i)) return true;
  return false;
}

function splitUnescaped(s: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '/' && !isEscaped(s, i)) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** The tokens of one segment's glob; an unclosed '[' is a literal '['. */
function parseGlob(glob: string): Token[] {
  const chars = Array.from(glob);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\' && i + 1 < chars.length) {
      tokens.push({ kind: 'char', char: chars[++i] as string });
    } else if (c === '*') {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
    } else if (c === '[') {
      const parsed = parseClass(chars, i);
      if (parsed) {
        tokens.push(parsed.token);
        i = parsed.end;
      } else {
        tokens.push({ kind: 'char', char: c });
      }
    } else {
      tokens.push({ kind: 'char', char: c });
    }
  }
  return tokens;
}

/** `[...]` starting at `open`; undefined when it is not closed. */
function parseClass(chars: readonly string[], open: number): { token: Token; end: number } | undefined {
  let i = open + 1;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: [number, number][] = [];
  let first = true;
  for (; i < chars.length; i++) {
    let c = chars[i] as string;
    if (c === ']' && !first) return { token: { kind: 'class', negate, ranges }, end: i };
    first = false;
    if (c === '\\' && i + 1 < chars.length) c = chars[++i] as string;
    const lo = c.codePointAt(0) as number;
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let hiChar = chars[i + 2] as string;
      i += 2;
      if (hiChar === '\\' && i + 1 < chars.length) hiChar = chars[++i] as string;
      const hi = hiChar.codePointAt(0) as number;
      if (lo <= hi) ranges.push([lo, hi]);
    } else {
      ranges.push([lo, lo]);
    }
  }
  return undefined;
}

/**
 * For every k, whether `segments` match exactly names[0..k): the rule run as
 * an automaton over the names, its states being positions in `segments`, so
 * each (position, name) pair is decided once.
 */
function matchPrefixes(segments: readonly Segment[], names: readonly (readonly string[])[]): Uint8Array {
  const m = segments.length;
  const result = new Uint8Array(names.length + 1);
  // A rule that is not '**' anywhere matches exactly as many names as it has segments.
  if (!segments.some((s) => s.kind === 'globstar')) {
    if (m <= names.length && segments.every((s, k) => s.kind === 'name' && matchName(s.tokens, names[k] as readonly string[]))) result[m] = 1;
    return result;
  }
  let states = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  states[0] = 1;
  closeOverGlobstars(segments, states);
  result[0] = states[m] as number;
  for (let k = 0; k < names.length; k++) {
    next.fill(0);
    const name = names[k] as readonly string[];
    for (let i = 0; i < m; i++) {
      if (!states[i]) continue;
      const seg = segments[i] as Segment;
      if (seg.kind === 'globstar') {
        next[i] = 1; // '**' takes this name and may take more
        if (i === m - 1 && i > 0) next[m] = 1; // a trailing '/**' is satisfied by one name
      } else if (matchName(seg.tokens, name)) {
        next[i + 1] = 1;
      }
    }
    closeOverGlobstars(segments, next);
    result[k + 1] = next[m] as number;
    [states, next] = [next, states];
  }
  return result;
}

/** A '**' that is not a trailing '/**' may also take no name: its successor is reachable at once. */
function closeOverGlobstars(segments: readonly Segment[], states: Uint8Array): void {
  const m = segments.length;
  for (let i = 0; i < m; i++) {
    const trailing = i === m - 1 && i > 0;
    if (states[i] && segments[i]?.kind === 'globstar' && !trailing) states[i + 1] = 1;
  }
}

/** Wildcard match of one name: linear scan with a single restart point per '*'. */
function matchName(tokens: readonly Token[], chars: readonly string[]): boolean {
  // Most rules end in a literal ('*.log'): a different last character fails at once.
  const lastToken = tokens[tokens.length - 1];
  if (lastToken?.kind === 'char' && lastToken.char !== chars[chars.length - 1]) return false;
  let t = 0;
  let c = 0;
  let starT = -1;
  let starC = 0;
  while (c < chars.length) {
    const tok = tokens[t];
    if (tok && tok.kind === 'star') {
      starT = t++;
      starC = c;
    } else if (tok && matchChar(tok, chars[c] as string)) {
      t++;
      c++;
    } else if (starT >= 0) {
      t = starT + 1;
      c = ++starC;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

function matchChar(tok: Token, ch: string): boolean {
  switch (tok.kind) {
    case 'char':
      return tok.char === ch;
    case 'any':
      return true;
    case 'class': {
      const cp = ch.codePointAt(0) as number;
      const inside = tok.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
      return inside !== tok.negate;
    }
    case 'star':
      return false;
  }
}

/**
 * A small JSON position scanner: maps a property path (as zod reports it,
 * e.g. ['folders', 0, 'path']) to the 1-based line in the text where that
 * value starts, so config errors can say "config.json line 12". It only
 * tracks structure; values are parsed by JSON.parse elsewhere.
 */

export type JsonPath = readonly (string | number)[];

interface Cursor { i: number; line: number }

const MAX_DEPTH = 64;

/**
 * Returns the line of the value at `path`, or of the deepest existing
 * ancestor when the path does not exist (a missing field is reported at its
 * parent object). Returns 1 for unparsable text.
 */
export function lineOfPath(text: string, path: JsonPath): number {
  const cur: Cursor = { i: 0, line: 1 };
  try {
    skipWs(text, cur);
    return find(text, cur, path, 0);
  } catch {
    return 1;
  }
}

/** For JSON.parse errors: the line of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function find(text: string, cur: Cursor, path: JsonPath, depth: number): number {
  const startLine = cur.line;
  if (path.length === 0 || depth >= MAX_DEPTH) return startLine;
  const [head, ...rest] = path;
  const ch = text[cur.i];
  if (ch === '{' && typeof head === 'string') {
    cur.i++;
    skipWs(text, cur);
    if (text[cur.i] === '}') return startLine;
    while (cur.i < text.length) {
      skipWs(text, cur);
      const key = readString(text, cur);
      skipWs(text, cur);
      expect(text, cur, ':');
      skipWs(text, cur);
      if (key === head) return find(text, cur, rest, depth + 1);
      skipValue(text, cur, depth + 1);
      skipWs(text, cur);
      if (text[cur.i] === ',') { cur.i++; continue; }
      break;
    }
    return startLine;
  }
  if (ch === '[' && typeof head === 'number') {
    cur.i++;
    skipWs(text, cur);
    if (text[cur.i] === ']') return startLine;
    for (let index = 0; cur.i < text.length; index++) {
      skipWs(text, cur);
      if (index === head) return find(text, cur, rest, depth + 1);
      skipValue(text, cur, depth + 1);
      skipWs(text, cur);
      if (text[cur.i] === ',') { cur.i++; continue; }
      break;
    }
    return startLine;
  }
  return startLine;
}

function skipWs(text: string, cur: Cursor): void {
  while (cur.i < text.length) {
    const c = text[cur.i];
    if (c === '\n') cur.line++;
    else if (c !== ' ' && c !== '\t' && c !== '\r') return;
    cur.i++;
  }
}

function expect(text: string, cur: Cursor, c: string): void {
  if (text[cur.i] !== c) throw new Error(`expected ${c}`);
  cur.i++;
}

function readString(text: string, cur: Cursor): string {
  expect(text, cur, '"');
  const start = cur.i;
  while (cur.i < text.length && text[cur.i] !== '"') {
    if (text[cur.i] === '\\') cur.i++;
    cur.i++;
  }
  const raw = text.slice(start, cur.i);
  expect(text, cur, '"');
  return JSON.parse(`"${raw}"`) as string;
}

function skipValue(text: string, cur: Cursor, depth: number): void {
  if (depth >= MAX_DEPTH) throw new Error('too deep');
  const c = text[cur.i];
  if (c === '"') { readString(text, cur); return; }
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    cur.i++;
    skipWs(text, cur);
    if (text[cur.i] === close) { cur.i++; return; }
    while (cur.i < text.length) {
      skipWs(text, cur);
      if (c === '{') {
        readString(text, cur);
        skipWs(text, cur);
        expect(text, cur, ':');
        skipWs(text, cur);
      }
      skipValue(text, cur, depth + 1);
      skipWs(text, cur);
      if (text[cur.i] === ',') { cur.i++; continue; }
      expect(text, cur, close);
      return;
    }
    throw new Error('unterminated');
  }
  // number, true, false, null
  const start = cur.i;
  while (cur.i < text.length && !/[\s,\]}]/.test(text[cur.i] ?? '')) cur.i++;
  const token = text.slice(start, cur.i);
  if (!LITERAL_RE.test(token)) { cur.i = start; throw new Error('bad literal'); }
}

const LITERAL_RE = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

/**
 * The line of the first syntax error in `text` (for JSON.parse messages that
 * carry no position), or 1 when none is found.
 */
export function lineOfSyntaxError(text: string): number {
  const cur: Cursor = { i: 0, line: 1 };
  try {
    skipWs(text, cur);
    skipValue(text, cur, 0);
    skipWs(text, cur);
    if (cur.i < text.length) return cur.line;
  } catch {
    return lineOfOffset(text, cur.i);
  }
  return 1;
}

/** How far a JSON text may branch and nest before anything parses it (see jsonShapeExcess). */
export interface JsonShapeLimits {
  readonly maxDepth: number;
  /** Elements of any one array. */
  readonly maxArrayItems: number;
  /** Values (containers and members) in the whole text. */
  readonly maxValues: number;
}

/**
 * Where `text` first goes past `limits`, or null. One pass over brackets,
 * commas and strings (syntax is JSON.parse's business): cheap enough to run
 * before JSON.parse and a schema, whose cost grows with every value and
 * every level (a 1 MiB array of numbers cost a zod schema 5 s of CPU,
 * 200,000 levels of nesting cost JSON.parse 100 ms).
 */
export function jsonShapeExcess(text: string, limits: JsonShapeLimits): { offset: number; problem: string } | null {
  // Per open container: items so far for an array, -1 for an object.
  const open: number[] = [];
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (open.length >= limits.maxDepth) return { offset: i, problem: `nested deeper than ${limits.maxDepth} levels` };
      if (++values > limits.maxValues) return { offset: i, problem: `more than ${limits.maxValues} values` };
      open.push(c === 0x5b ? 1 : -1);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      if (++values > limits.maxValues) return { offset: i, problem: `more than ${limits.maxValues} values` };
      const top = open.length - 1;
      const items = open[top];
      if (items !== undefined && items >= 0) {
        if (items + 1 > limits.maxArrayItems) return { offset: i, problem: `a list of more than ${limits.maxArrayItems} items` };
        open[top] = items + 1;
      }
    }
  }
  return null;
}

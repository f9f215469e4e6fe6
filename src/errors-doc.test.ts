import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOG, type ErrorCode } from './errors.js';

const DOC = new URL('../docs/errors.md', import.meta.url);

/** Every `| `ERR_…` | status | meaning |` row of docs/errors.md. */
function documentedCodes(markdown: string): Map<string, { status: number; meaning: string }> {
  const rows = new Map<string, { status: number; meaning: string }>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (m === null) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is documented twice`);
    rows.set(m[1]!, { status: Number(m[2]), meaning: m[3]! });
  }
  return rows;
}

test('docs/errors.md lists every code of the catalog with its status and meaning, and no other', () => {
  const documented = documentedCodes(readFileSync(DOC, 'utf8'));
  const catalog = Object.keys(ERROR_CATALOG) as ErrorCode[];
  const undocumented = catalog.filter((c) => !documented.has(c));
  assert.deepEqual(undocumented, [], 'codes missing from docs/errors.md');
  const gone = [...documented.keys()].filter((c) => !(c in ERROR_CATALOG));
  assert.deepEqual(gone, [], 'codes in docs/errors.md that the catalog no longer has');
  for (const code of catalog) {
    const row = documented.get(code)!;
    assert.equal(row.status, ERROR_CATALOG[code].status, `${code}: HTTP status in docs/errors.md`);
    assert.ok(row.meaning.length > 0, `${code}: meaning in docs/errors.md`);
  }
});

test('the row parser sees a missing, a stale and a mismatched code (the check above can fail)', () => {
  const rows = documentedCodes('| `ERR_INTERNAL` | 500 | Internal error |\n| `ERR_GONE_LONG_AGO` | 400 | x |\n| `ERR_TIMEOUT` | 400 | y |\n');
  assert.equal(rows.has('ERR_INVALID_ARGUMENT'), false);
  assert.equal(rows.has('ERR_GONE_LONG_AGO'), true);
  assert.notEqual(rows.get('ERR_TIMEOUT')!.status, ERROR_CATALOG.ERR_TIMEOUT.status);
});

/**
 * docs/architecture.md must match the tree: its folder list is the layer order
 * of .dependency-cruiser.cjs and names every part of src/, and every path its
 * "Where to find what" table names exists, with the functions and constants it
 * names in one of that row's files. A file moved or renamed without the doc
 * fails here, not in a newcomer's first hour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

/** The first code block: one `src/…` entry per line (continuation lines are indented). */
function folderList(): string[] {
  const block = /```\n([\s\S]*?)```/.exec(DOC)?.[1] ?? '';
  return block.split('\n').map((l) => /^(src\/\S+)/.exec(l)?.[1]).filter((p): p is string => p !== undefined);
}

/** The rows of the "Where to find what" table: [what, where]. */
function tableRows(): [string, string][] {
  const section = DOC.split('## Where to find what')[1]?.split('\n## ')[0] ?? '';
  return section.split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| what ') && !l.startsWith('| ---'))
    .map((l) => {
      const cells = l.split(' | ');
      return [cells[0]!.slice(2), cells.slice(1).join(' | ').replace(/ \|$/, '')];
    });
}

/**
 * The LAYERS array of .dependency-cruiser.cjs, read from its text (the config
 * exports only what dependency-cruiser accepts): one `['a', 'b'],` group a line.
 */
function checkerLayers(): string[][] {
  const text = readFileSync(join(ROOT, '.dependency-cruiser.cjs'), 'utf8');
  const body = /const LAYERS = \[([\s\S]*?)\n\];/.exec(text)?.[1] ?? '';
  const groups = [...body.replace(/\/\/.*$/gm, '').matchAll(/\[([^[\]]*)\]/g)].map((m) => [...m[1]!.matchAll(/'([^']+)'/g)].map((n) => n[1]!));
  assert.ok(groups.length > 10, `no LAYERS found in .dependency-cruiser.cjs (${groups.length} groups)`);
  return groups;
}

const PATH_ROOTS = /^(src|test|docs|scripts|web)\/|^\./;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(f).isFile());
}

test('the folder list is the layer order of .dependency-cruiser.cjs and covers all of src/', () => {
  const listed = folderList();
  assert.ok(listed.length > 10, `no folder list found in docs/architecture.md (${listed.length} entries)`);
  for (const p of listed) assert.ok(existsSync(join(ROOT, p)), `docs/architecture.md lists ${p}, which does not exist`);
  const LAYERS = checkerLayers();
  const layerOf = (p: string) => p.replace(/^src\//, '').replace(/\.ts$/, '');
  const order = LAYERS.flat();
  const listedLayers = listed.map(layerOf);
  // Each listed entry is a layer, in the checker's order.
  for (const l of listedLayers) assert.ok(order.includes(l), `docs/architecture.md lists src/${l}, which is no layer in .dependency-cruiser.cjs`);
  const positions = listedLayers.map((l) => order.indexOf(l));
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `docs/architecture.md lists the layers in another order than .dependency-cruiser.cjs: ${listedLayers.join(', ')}`);
  // Every folder of src/ (and every engine wing) is on the list.
  const dirs = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const wings = readdirSync(join(ROOT, 'src/engine'), { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'testing').map((d) => `engine/${d.name}`);
  for (const d of [...dirs.filter((d) => d !== 'engine'), ...wings]) assert.ok(listedLayers.includes(d), `src/${d} is missing from the folder list in docs/architecture.md`);
});

test('every path in the "Where to find what" table exists, and what it names is in that row\'s files', () => {
  const rows = tableRows();
  assert.ok(rows.length > 10, `no "Where to find what" table found (${rows.length} rows)`);
  for (const [what, where] of rows) {
    const tokens = [...where.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const files: string[] = [];
    const identifiers: string[] = [];
    let base: string | null = null; // the directory a bare file name is relative to
    for (const t of tokens) {
      if (/\s/.test(t)) continue; // a command or a route, not a path
      if (PATH_ROOTS.test(t)) {
        if (t.includes('*')) {
          const dir = dirname(t);
          const re = new RegExp(`^${t.slice(dir.length + 1).replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
          assert.ok(existsSync(join(ROOT, dir)) && readdirSync(join(ROOT, dir)).some((f) => re.test(f)), `"${what}": ${t} matches nothing`);
          files.push(...readdirSync(join(ROOT, dir)).filter((f) => re.test(f)).map((f) => join(ROOT, dir, f)));
          base = dir;
          continue;
        }
        const abs = join(ROOT, t);
        assert.ok(existsSync(abs), `"${what}": ${t} does not exist`);
        if (statSync(abs).isDirectory()) {
          files.push(...filesUnder(abs));
          base = t;
        } else {
          files.push(abs);
          base = dirname(t);
        }
      } else if (/\.(ts|cjs|mjs|md|json)$/.test(t) && !t.includes('/')) {
        assert.ok(base !== null, `"${what}": ${t} is named before any directory`);
        const abs = join(ROOT, base, t);
        assert.ok(existsSync(abs), `"${what}": ${t} is not in ${base}`);
        files.push(abs);
      } else if (IDENTIFIER.test(t)) {
        identifiers.push(t);
      }
    }
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const id of identifiers) assert.match(text, new RegExp(`\\b${id}\\b`), `"${what}": \`${id}\` is in none of the row's files`);
  }
});

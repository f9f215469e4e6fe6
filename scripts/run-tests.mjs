#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and web/src/ with node's built-in runner through tsx.
// Node 20's `node --test` does not expand globs, so the files are listed here.
// Fails when no test ran, so a broken discovery can never pass as green.
import { readdirSync, statSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOTS = ['src', 'test', 'web/src'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'fixtures']);
const root = process.cwd();
const only = process.argv.slice(2); // optional path prefixes to narrow the run

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name)) collect(full, out);
    } else if (name.endsWith('.test.ts')) {
      out.push(relative(root, full));
    }
  }
  return out;
}

let files = ROOTS.flatMap((r) => collect(join(root, r), [])).sort();
if (only.length) files = files.filter((f) => only.some((p) => f.startsWith(p)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

mkdirSync('test-output', { recursive: true });
const tapFile = join('test-output', 'results.tap');
const res = spawnSync(
  process.execPath,
  [
    '--import', 'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=600000',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);

const tap = readFileSync(tapFile, 'utf8');
const count = (key) => Number((tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
const tests = count('tests');
const pass = count('pass');
const fail = count('fail');
const skipped = count('skipped');
// A failing before/after hook does not count as a failed test: the suite's tests are
// reported as cancelled instead, so cancelled tests fail the run too.
const cancelled = count('cancelled');
console.log(`\n${pass} passed, ${fail} failed, ${cancelled} cancelled, ${skipped} skipped`);
if (tests === 0) {
  console.error('run-tests: no test executed');
  process.exit(1);
}
process.exit(res.status === 0 && fail === 0 && cancelled === 0 ? 0 : 1);

/**
 * The layer check's own test: dependency-cruiser with the project's config
 * (.dependency-cruiser.cjs) on a committed fixture that breaks the rules must
 * fail and name each break. `npm run layers` runs the same config on src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixture/', import.meta.url));
/** The checker's command line (the package exports no bin path to resolve). */
const CLI = `${ROOT}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`;

test('the layer check fails on an upward import and on a cycle of type imports, naming both', () => {
  const run = spawnSync(process.execPath, [CLI, '--config', `${ROOT}.dependency-cruiser.cjs`, '--output-type', 'err', 'src'], {
    cwd: FIXTURE,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${run.stdout}${run.stderr}`;
  assert.notEqual(run.status, 0, `the checker passed a fixture that breaks the layers:\n${out}`);
  assert.match(out, /error layer-crypto: src\/crypto\/bad\.ts → src\/net\/x\.ts/);
  assert.match(out, /error no-cycles: src\/model\/ring-a\.ts →\s+src\/model\/ring-b\.ts →\s+src\/model\/ring-a\.ts/);
  assert.match(out, /2 dependency violations/);
});

// Usage: node scripts/check-engines.mjs DIR
// Checks that every package under DIR/node_modules (DIR's own package.json
// names the promise in "engines.node") accepts the oldest Node that promise
// allows. Prints each offender and exits 1; prints nothing and exits 0 when
// all agree. semver is the repository's (a development dependency).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
if (!root) {
  console.error('usage: node scripts/check-engines.mjs DIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const semver = require('semver');
const promise = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node;
const oldest = semver.minVersion(promise);
if (!oldest) {
  console.error(`check-engines: ${root}/package.json has no engines.node`);
  process.exit(2);
}

/** Every package.json under a node_modules tree, scoped packages and nested trees included. */
function* packages(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) {
      yield* packages(path);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) yield manifest;
    yield* packages(join(path, 'node_modules'));
  }
}

let bad = 0;
for (const manifest of packages(join(root, 'node_modules'))) {
  const { name, version, engines } = JSON.parse(readFileSync(manifest, 'utf8'));
  const wants = engines?.node;
  if (typeof wants !== 'string' || semver.validRange(wants) === null) continue;
  if (!semver.satisfies(oldest, wants)) {
    console.error(`check-engines: ${name}@${version} needs Node ${wants}; sealsync promises ${promise}`);
    bad++;
  }
}
process.exit(bad > 0 ? 1 : 0);

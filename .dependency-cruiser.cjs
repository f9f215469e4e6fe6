/**
 * The layer order of src/, checked by dependency-cruiser (`npm run layers`,
 * part of `npm test`). docs/architecture.md draws the same list.
 *
 * Top to bottom; a module may import only from its own layer or from layers
 * below it. Layers in one group are siblings: they may not import each other.
 * `import type` counts (tsPreCompilationDeps), and so does `await import()`.
 * Tests (*.test.ts) and test support (any testing/ directory) sit outside the
 * order: they may use any layer, and production code may never import them.
 * Cycles fail everywhere.
 */
const LAYERS = [
  ['cli'],
  ['api'],
  ['daemon'],
  // The encrypted peer's folder fetches blocks with the full peer's block scheduler (swarming).
  ['engine/replica'],
  ['engine/sync', 'engine/local'],
  // What both kinds of folder share: session links, index relay, record checks, folder status.
  ['engine/peer'],
  ['store'],
  ['net'],
  ['fs'],
  ['index'],
  ['memory'],
  ['crypto'],
  // Pure data rules; crypto's sealed records are made of model types.
  ['model'],
  ['errors', 'logger', 'package-version'],
];

const TEST_FILES = '(^|/)testing/|\\.test\\.ts$';
/** `src/<name>/…` or `src/<name>.ts`. */
const at = (names) => `^src/(${names.map((n) => n.replace('/', '\\/')).join('|')})(/|\\.ts$)`;

const layerRules = LAYERS.flatMap((group, i) => {
  const above = LAYERS.slice(0, i).flat();
  const rules = [];
  if (above.length > 0) {
    rules.push({
      name: `layer-${group.join('+')}`,
      comment: `${group.join(', ')} may not import from a layer above it (${above.join(', ')}): see .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: at(group), pathNot: TEST_FILES },
      to: { path: at(above) },
    });
  }
  for (const name of group.length > 1 ? group : []) {
    rules.push({
      name: `sibling-${name}`,
      comment: `${name} may not import its sibling layer (${group.filter((n) => n !== name).join(', ')})`,
      severity: 'error',
      from: { path: at([name]), pathNot: TEST_FILES },
      to: { path: at(group.filter((n) => n !== name)) },
    });
  }
  return rules;
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-cycles',
      comment: 'modules may not import each other, directly or through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-support-in-production',
      comment: 'production code may not import tests or test support (they are not in dist/ or the package)',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST_FILES },
      to: { path: TEST_FILES },
    },
    {
      name: 'known-layer',
      comment: 'every directory or top-level module of src/ has a place in LAYERS',
      severity: 'error',
      from: { path: '^src/', pathNot: `${TEST_FILES}|${at(LAYERS.flat())}|^src/engine/testing/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

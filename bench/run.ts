/**
 * `npm run bench`: runs every benchmark module in order. Benchmarks are never
 * timed tests; they print numbers (and ratios against Syncthing where a
 * scenario has a Syncthing counterpart).
 */
const BENCHES: Array<{ name: string; explicit?: boolean; load: () => Promise<{ run: (args: string[]) => Promise<void> }> }> = [
  { name: 'crypto', load: () => import('./crypto.js') },
  { name: 'scan', load: () => import('./scan.js') },
  { name: 'daemon-scan', load: () => import('./daemon-scan.js') },
  { name: 'sync', load: () => import('./sync.js') },
  { name: 'padding', load: () => import('./padding.js') },
  // ~1 h at its default size: runs only when named (`npm run bench -- tree --files 20000`)
  { name: 'tree', explicit: true, load: () => import('./tree.js') },
];

// bench names pick benches (`npm run bench -- sync --runs 1`); everything else is passed on
const names = new Set(BENCHES.map((b) => b.name));
const wanted = process.argv.slice(2).filter((a) => names.has(a));
for (const bench of BENCHES) {
  if (wanted.length ? !wanted.includes(bench.name) : bench.explicit) continue;
  console.log(`\n== bench: ${bench.name} ==`);
  const mod = await bench.load();
  await mod.run(process.argv.slice(2));
}

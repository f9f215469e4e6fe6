import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { YOUNG_GC_EVERY_BYTES, noteBlockBytes } from './young-gc.js';

/** Minor GCs seen while `fn` runs (the observer reports them asynchronously). */
async function minorGcsDuring(fn: () => void): Promise<number> {
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return minor;
}

test('a minor GC runs once YOUNG_GC_EVERY_BYTES of block data were noted', async () => {
  const forced = await minorGcsDuring(() => {
    for (let i = 0; i < 4; i++) noteBlockBytes(YOUNG_GC_EVERY_BYTES);
  });
  assert.ok(forced >= 4, `expected at least 4 minor GCs, saw ${forced}`);
});

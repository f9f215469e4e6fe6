/**
 * The rest-bodies fuzz target sends input to every route and method the REST
 * app registers, read from Fastify's route table rather than kept by hand:
 * a route added without a generator in REST_FUZZ_ROUTES (or a reason in
 * REST_FUZZ_EXCLUDED) fails here. And every route's valid samples are
 * accepted, so none of them is fuzzed only through its refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { trackRoutes, type RouteEntry } from '../../src/api/route-table.js';
import { REST_FUZZ_EXCLUDED, REST_FUZZ_ROUTES, restBodiesTarget, restFuzzApp } from './targets/rest-bodies.js';

test('the rest-bodies target covers every route and method of the REST app', async () => {
  let table: () => readonly RouteEntry[] = () => [];
  const app = await restFuzzApp((a) => { table = trackRoutes(a); });
  try {
    const registered = table().filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
    assert.ok(registered.length >= 30, `${registered.length} routes`);
    const fuzzed = REST_FUZZ_ROUTES.map((r) => `${r.method} ${r.url}`);
    const missing = registered.filter((r) => !fuzzed.includes(r) && !(r in REST_FUZZ_EXCLUDED));
    assert.deepEqual(missing, [], 'routes the fuzz target never sends input to');
    const stale = [...fuzzed, ...Object.keys(REST_FUZZ_EXCLUDED)].filter((r) => !registered.includes(r));
    assert.deepEqual(stale, [], 'fuzzed routes the app does not have');
    assert.equal(new Set(fuzzed).size, fuzzed.length, 'a route listed twice');
  } finally {
    await app.close();
  }
});

test("every route's valid samples are accepted", async () => {
  const decoder = await restBodiesTarget.open();
  try {
    const seen = new Set<number>();
    for (const input of fc.sample(restBodiesTarget.valid, { numRuns: 1500, seed: 7 })) {
      seen.add(input[0] as number);
      const status = await decoder.decode(input);
      assert.ok(typeof status === 'number' && status < 300, `route ${input[0]}: ${String(status)}`);
    }
    assert.equal(seen.size, REST_FUZZ_ROUTES.length, 'every route was sampled');
  } finally {
    await decoder.close?.();
  }
});

// Lets the tests run the real entry point, bin/sealsync.js, against the
// current sources: its import of ../dist/… resolves to src/… (.ts, loaded by
// tsx), so a stale or missing build can never make a test pass or fail.
// Used as: node --import tsx --import ./dist-to-src.mjs bin/sealsync.js …
import { register } from 'node:module';

register('./dist-to-src-hooks.mjs', import.meta.url);

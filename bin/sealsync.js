#!/usr/bin/env node
// Entry point installed as `sealsync`: runs the compiled CLI from dist/.
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`sealsync: ${err?.message ?? err}`); process.exitCode = 1; },
);

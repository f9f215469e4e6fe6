#!/usr/bin/env node
// Builds the dashboard into web/dist when its sources exist.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync('web/index.html')) process.exit(0);
const res = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', 'web', '--logLevel', 'warn'], { stdio: 'inherit' });
process.exit(res.status ?? 1);

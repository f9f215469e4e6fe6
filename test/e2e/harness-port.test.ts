// The e2e harness itself: a home whose randomly picked sync port another test
// file's home took between `init` and `start` still starts (on a port free now),
// while the product keeps refusing a taken port (daemon.test.ts checks that).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { TestHome } from './helpers/harness.js';

test('the harness moves a test home off a sync port taken since init, and starts it', async () => {
  const h = await TestHome.create({});
  const listenOf = async (): Promise<string> => (JSON.parse(await readFile(h.paths.config, 'utf8')) as { listen: string }).listen;
  const taken = await listenOf();
  const holder = createServer();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen({ host: '127.0.0.1', port: Number(/:(\d+)$/.exec(taken)?.[1]) }, resolve);
  });
  try {
    await h.startDaemon();
    const now = await listenOf();
    assert.notEqual(now, taken);
    assert.equal(await h.listenAddress(), `tcp://${now}`);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    await h.cleanup();
  }
});

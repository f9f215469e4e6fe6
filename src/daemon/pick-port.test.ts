import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { parseEphemeralRange, pickFreePort, pickRange, PICK_PORT_MAX, PICK_PORT_MIN } from './pick-port.js';

function listenOn(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

test('the Linux range file parses; anything else is no range', () => {
  assert.deepEqual(parseEphemeralRange('32768\t60999\n'), { low: 32768, high: 60999 });
  assert.equal(parseEphemeralRange(''), null);
  assert.equal(parseEphemeralRange('60999 32768'), null);
  assert.equal(parseEphemeralRange('0 100'), null);
  assert.equal(parseEphemeralRange('1 2 3'), null);
});

test('picks stay below the ephemeral range, and there is none when it starts too low', () => {
  assert.deepEqual(pickRange({ low: 32768, high: 60999 }), { min: PICK_PORT_MIN, max: PICK_PORT_MAX });
  assert.deepEqual(pickRange({ low: 25000, high: 60999 }), { min: PICK_PORT_MIN, max: 24999 });
  assert.deepEqual(pickRange(null), { min: PICK_PORT_MIN, max: PICK_PORT_MAX });
  assert.equal(pickRange({ low: 1024, high: 65535 }), null);
});

test('a real pick is a free port below the ephemeral range that can then be bound', async () => {
  const port = await pickFreePort('127.0.0.1', { ephemeral: { low: 32768, high: 60999 } });
  assert.ok(port >= PICK_PORT_MIN && port <= PICK_PORT_MAX, `picked ${port}`);
  const server = await listenOn(port);
  await new Promise((r) => server.close(r));
});

test('a taken candidate and an avoided one are skipped', async () => {
  const taken = await listenOn(0);
  try {
    const takenPort = (taken.address() as { port: number }).port;
    const seen: number[] = [];
    // The candidates: the taken port, then the avoided port, then a free one the OS confirms.
    const free = await pickFreePort('127.0.0.1', {
      ephemeral: null,
      avoid: new Set([21_000]),
      random: () => {
        const next = [takenPort, 21_000, 22_000][seen.length] ?? 23_000;
        seen.push(next);
        return next;
      },
      tryBind: async (_host, port) => (port === takenPort ? undefined : port),
    });
    assert.deepEqual(seen, [takenPort, 21_000, 22_000]);
    assert.equal(free, 22_000);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test('with no room below the ephemeral range the OS chooses', async () => {
  const asked: number[] = [];
  const port = await pickFreePort('127.0.0.1', {
    ephemeral: { low: 1024, high: 65535 },
    tryBind: async (_host, p) => { asked.push(p); return p === 0 ? 45_678 : undefined; },
  });
  assert.equal(port, 45_678);
  assert.deepEqual(asked, [0]);
});

test('when every try fails the error is one line', async () => {
  await assert.rejects(
    pickFreePort('127.0.0.1', { ephemeral: null, tryBind: async () => undefined }),
    /no free port on 127\.0\.0\.1/,
  );
});

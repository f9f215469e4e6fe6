/**
 * The chaos run's link proxy on loopback: forwards both ways and counts the
 * bytes; cut drops open connections and closes new ones until heal; delay
 * holds data back in order; throttle bounds the rate; stop leaves nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { LinkProxy } from './link-proxy.js';

/** Connects through the proxy; resolves with the socket once connected. */
function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads until `n` bytes arrived or the socket closed; resolves with what came. */
function readBytes(s: Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = () => { clearTimeout(timer); s.off('data', onData); resolve(Buffer.concat(parts)); };
    const onData = (d: Buffer) => { parts.push(d); got += d.length; if (got >= n) done(); };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', onData);
    s.once('close', done);
  });
}

describe('LinkProxy', () => {
  let echo: Server;
  let proxy: LinkProxy;
  const sockets = new Set<Socket>();

  before(async () => {
    echo = createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.pipe(s); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const addr = echo.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    proxy = new LinkProxy('t', addr.port);
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  test('forwards both ways and counts the bytes', async () => {
    const s = await dial(proxy.port);
    const before = proxy.bytes;
    s.write(Buffer.alloc(1000, 7));
    const back = await readBytes(s, 1000);
    assert.deepEqual(back, Buffer.alloc(1000, 7));
    assert.equal(proxy.bytes - before, 2000, 'both directions counted');
    s.destroy();
  });

  test('cut closes open connections and refuses new ones until heal', async () => {
    const s = await dial(proxy.port);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    proxy.cut();
    await closed;
    const again = await dial(proxy.port);
    again.on('error', () => undefined);
    again.write('x');
    assert.equal((await readBytes(again, 1, 2000)).length, 0, 'nothing comes through a cut link');
    proxy.heal();
    const healed = await dial(proxy.port);
    healed.write('y');
    assert.equal((await readBytes(healed, 1)).toString(), 'y');
    healed.destroy();
  });

  test('delay holds data back and keeps its order', async () => {
    proxy.delay(150);
    try {
      const s = await dial(proxy.port);
      const started = Date.now();
      for (let i = 0; i < 10; i++) s.write(Buffer.from([i]));
      const back = await readBytes(s, 10);
      // Each way is delayed: the echo comes back after two delays.
      assert.ok(Date.now() - started >= 280, `took ${Date.now() - started} ms`);
      assert.deepEqual([...back], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      s.destroy();
    } finally {
      proxy.heal();
    }
  });

  test('throttle bounds the rate', async () => {
    proxy.throttle(100 * 1024);
    try {
      const s = await dial(proxy.port);
      const started = Date.now();
      s.write(Buffer.alloc(100 * 1024, 1));
      const back = await readBytes(s, 100 * 1024, 10_000);
      assert.equal(back.length, 100 * 1024);
      // 100 KiB at 100 KiB/s each way: close to a second at the least.
      assert.ok(Date.now() - started >= 900, `took ${Date.now() - started} ms`);
      s.destroy();
    } finally {
      proxy.heal();
    }
  });
});

/**
 * A TCP proxy on 127.0.0.1 that the chaos run controls: every link between two
 * daemons goes through one. The dialing daemon is given the proxy's address as
 * its peer, the proxy forwards to the listening daemon's real port.
 *
 * - cut(): every open connection is destroyed and new ones are closed at once
 *   (the dialer sees a failed handshake and backs off), until heal().
 * - delay(ms): every chunk, each way, is held `ms` before it is forwarded
 *   (order kept: one timer queue per direction).
 * - throttle(bytesPerSecond): each direction forwards at most that rate.
 * - bytes: total bytes forwarded both ways since start (the "bytes moved").
 *
 * stop() closes the server and every socket; no timer is left behind.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Chunks a direction may hold back (delay/throttle) before it pauses its source, so memory stays bounded. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class LinkProxy {
  private server: Server | null = null;
  private readonly pipes = new Set<Pipe>();
  private isCut = false;
  private delayMs = 0;
  private rate = 0;
  private forwarded = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(readonly name: string, private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    this.port = addr.port;
  }

  get address(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  get bytes(): number {
    return this.forwarded;
  }

  get cutNow(): boolean {
    return this.isCut;
  }

  cut(): void {
    this.isCut = true;
    for (const p of this.pipes) this.close(p);
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  throttle(bytesPerSecond: number): void {
    this.rate = bytesPerSecond;
  }

  /** Back to a clean link: no cut, no delay, no throttle. */
  heal(): void {
    this.isCut = false;
    this.delayMs = 0;
    this.rate = 0;
  }

  /** Drops every open connection without refusing new ones (a daemon on the far side was killed). */
  dropAll(): void {
    for (const p of this.pipes) this.close(p);
  }

  async stop(): Promise<void> {
    this.cut();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.isCut || this.server === null) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pipe: Pipe = { client, upstream };
    this.pipes.add(pipe);
    client.on('error', () => this.close(pipe));
    upstream.on('error', () => this.close(pipe));
    client.on('close', () => this.close(pipe));
    upstream.on('close', () => this.close(pipe));
    this.forward(client, upstream, pipe);
    this.forward(upstream, client, pipe);
  }

  private close(p: Pipe): void {
    if (!this.pipes.delete(p)) return;
    p.client.destroy();
    p.upstream.destroy();
  }

  /** One direction: chunks go out in order, each after the current delay and within the rate. */
  private forward(from: Socket, to: Socket, pipe: Pipe): void {
    let queued = 0;
    let nextFree = Date.now();
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      if (!this.pipes.has(pipe)) return;
      if (this.delayMs === 0 && this.rate === 0 && queued === 0) {
        this.forwarded += chunk.length;
        to.write(chunk);
        return;
      }
      const now = Date.now();
      let due = now + this.delayMs;
      if (this.rate > 0) {
        nextFree = Math.max(nextFree, now) + (chunk.length * 1000) / this.rate;
        due = Math.max(due, nextFree);
      }
      due = Math.max(due, lastDue); // keep order
      lastDue = due;
      queued += chunk.length;
      if (queued > MAX_QUEUED_BYTES) from.pause();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        queued -= chunk.length;
        if (queued <= MAX_QUEUED_BYTES) from.resume();
        if (!this.pipes.has(pipe)) return;
        this.forwarded += chunk.length;
        to.write(chunk);
      }, Math.max(0, due - now));
      this.timers.add(timer);
    });
  }
}

/**
 * A hostile peer for tests: a real TLS client with a valid device certificate
 * that then sends whatever the test wants — raw bytes, hand-made frames,
 * well-formed messages at the wrong time — and records what the server sends
 * back and whether it closed the connection.
 */
import type { TLSSocket } from 'node:tls';
import { accessProof } from '../../crypto/index.js';
import { dial, type DeviceCredentials } from '../transport.js';
import { FrameDecoder, type Frame } from '../frame-codec.js';
import { decodeMessage, encodeMessageSync, encodeIndexUpdate, FrameType, PROTOCOL_VERSION, type IndexUpdate, type Message } from '../messages.js';
import { ACCESS_EXPORTER_BYTES, ACCESS_EXPORTER_LABEL } from '../session.js';

export class HostileClient {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private waiters: (() => void)[] = [];
  private decodeError: unknown = null;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.frames.push(...this.decoder.push(chunk));
      } catch (err) {
        this.decodeError = err;
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** `localAddress`: connect from another loopback address (127.0.0.x), to act as another host. */
  static async connect(address: string, identity: DeviceCredentials, opts: { localAddress?: string } = {}): Promise<HostileClient> {
    const conn = await dial(address, { identity, timeoutMs: 5000, ...opts });
    return new HostileClient(conn.socket);
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** A frame with any type byte and payload (the length prefix is correct). */
  sendFrame(type: number, payload: Uint8Array): void {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(1 + payload.length);
    header[4] = type;
    this.socket.write(Buffer.concat([header, payload]));
  }

  send(msg: Exclude<Message, IndexUpdate>): void {
    const { type, payload } = encodeMessageSync(msg);
    this.sendFrame(type, payload);
  }

  async sendIndex(msg: Omit<IndexUpdate, 'type'>): Promise<void> {
    this.sendFrame(FrameType.indexUpdate, await encodeIndexUpdate(msg));
  }

  hello(name = 'mallory'): void {
    this.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, deviceName: name, clientVersion: 'evil/1' });
  }

  /** The proof an honest dialler would send for this folder on this connection. */
  proof(folderId: Uint8Array, accessSecret: Uint8Array): Uint8Array {
    const exporter = this.socket.exportKeyingMaterial(ACCESS_EXPORTER_BYTES, ACCESS_EXPORTER_LABEL, Buffer.from(folderId));
    return accessProof(accessSecret, new Uint8Array(exporter), folderId, 'client');
  }

  /** Next frame from the server (skipping pings), or null if the server closed first. */
  async nextFrame(timeoutMs = 3000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type !== FrameType.ping);
      if (i >= 0) return this.frames.splice(0, i + 1).pop() as Frame;
      if (this.closed || this.decodeError) return null;
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await this.sleepUntilEvent(deadline - Date.now());
    }
  }

  async nextMessage(timeoutMs = 3000): Promise<Message | null> {
    const f = await this.nextFrame(timeoutMs);
    return f ? decodeMessage(f.type, f.payload) : null;
  }

  /** Waits until the server closes; returns the Close reason it sent, if any. */
  async waitClosed(timeoutMs = 3000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection');
      await this.sleepUntilEvent(deadline - Date.now());
    }
    const close = this.frames.find((f) => f.type === FrameType.close);
    if (!close) return undefined;
    const msg = await decodeMessage(close.type, close.payload);
    return msg.type === 'close' ? msg.reason : undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private sleepUntilEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}

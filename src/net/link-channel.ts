/**
 * The device-linking channel: small JSON messages over one TLS connection
 * under the link ALPN id (transport.ts), for invites, joins and the keyring
 * exchange (src/daemon/devices/). Each message is `u32 length | UTF-8 JSON`,
 * at most MAX_LINK_MESSAGE_BYTES; anything else closes the channel. The
 * receiver validates every message with its own schema: this layer only
 * frames, bounds and times out.
 */
import type { TLSSocket } from 'node:tls';
import { SealsyncError } from '../errors.js';
import { dial, type DeviceCredentials, type SecureConnection } from './transport.js';

/** A keyring with MAX_FOLDERS keys and its device list fits with room to spare. */
export const MAX_LINK_MESSAGE_BYTES = 1024 * 1024;
/** How long one message may take to arrive unless the caller says otherwise. */
export const LINK_MESSAGE_TIMEOUT_MS = 15_000;
export const LINK_EXPORTER_LABEL = 'EXPORTER-sealsync-link-v1';
export const LINK_EXPORTER_BYTES = 32;

export class LinkChannel {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: unknown[] = [];
  private waiter: { resolve: (m: unknown) => void; reject: (e: unknown) => void } | null = null;
  private failure: SealsyncError | null = null;
  readonly socket: TLSSocket;

  constructor(readonly conn: SecureConnection) {
    this.socket = conn.socket;
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => this.fail(new SealsyncError('ERR_CONNECTION_CLOSED', 'the other device closed the connection')));
  }

  get remoteDeviceId(): string {
    return this.conn.remoteDeviceId;
  }

  /** Keying material of this TLS session, for proofs bound to it. */
  exporter(): Uint8Array {
    return new Uint8Array(this.socket.exportKeyingMaterial(LINK_EXPORTER_BYTES, LINK_EXPORTER_LABEL, Buffer.alloc(0)));
  }

  send(message: unknown): void {
    if (this.failure) throw this.failure;
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    if (body.byteLength > MAX_LINK_MESSAGE_BYTES) throw new SealsyncError('ERR_FRAME_TOO_LARGE', 'link message too large');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.byteLength);
    this.socket.write(Buffer.concat([head, body]));
  }

  /** The next message (parsed JSON, not yet validated), or ERR_TIMEOUT / ERR_CONNECTION_CLOSED / ERR_PROTOCOL. */
  next(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new SealsyncError('ERR_INTERNAL', 'one reader at a time'));
    return new Promise<unknown>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.waiter = null;
      };
      const onAbort = (): void => { done(); reject(new SealsyncError('ERR_ABORTED')); };
      const timer = setTimeout(() => { done(); reject(new SealsyncError('ERR_TIMEOUT', 'the other device did not answer in time')); }, opts.timeoutMs ?? LINK_MESSAGE_TIMEOUT_MS);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = { resolve: (m) => { done(); resolve(m); }, reject: (e) => { done(); reject(e); } };
    });
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.fail(new SealsyncError('ERR_CONNECTION_CLOSED', 'link channel closed'));
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.buffer = this.buffer.byteLength === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.byteLength >= 4) {
      const len = this.buffer.readUInt32BE(0);
      if (len > MAX_LINK_MESSAGE_BYTES) { this.protocolError('link message too large'); return; }
      if (this.buffer.byteLength < 4 + len) return;
      const body = this.buffer.subarray(4, 4 + len);
      this.buffer = this.buffer.subarray(4 + len);
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
      } catch {
        this.protocolError('link message is not JSON');
        return;
      }
      // Nobody reads more than a few messages: a peer that floods is cut off.
      if (this.queue.length >= 8) { this.protocolError('too many unread link messages'); return; }
      if (this.waiter) this.waiter.resolve(message);
      else this.queue.push(message);
    }
  }

  private protocolError(message: string): void {
    this.fail(new SealsyncError('ERR_PROTOCOL', message));
    this.socket.destroy();
  }

  private fail(err: SealsyncError): void {
    if (this.failure) return;
    this.failure = err;
    this.waiter?.reject(err);
  }
}

/** Dials the device-linking channel of `deviceId` at `address` (pinned: any other device is refused). */
export async function dialLink(address: string, opts: { identity: DeviceCredentials; deviceId: string; signal?: AbortSignal; timeoutMs?: number }): Promise<LinkChannel> {
  const conn = await dial(address, {
    identity: opts.identity,
    expectedDeviceId: opts.deviceId,
    channel: 'link',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return new LinkChannel(conn);
}

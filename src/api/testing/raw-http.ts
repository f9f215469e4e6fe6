/**
 * Test support: one HTTP/1.1 request written byte for byte on a fresh TCP
 * connection. node:http, fetch and Fastify's inject() all normalise the
 * request target (`/./`, `..`, backslashes, absolute form) or refuse NUL
 * before it leaves the process, so an attack on the dashboard's path
 * handling has to be typed out on a socket.
 */
import { connect } from 'node:net';

export const RAW_REQUEST_TIMEOUT_MS = 10_000;
/** More response bytes than this are not collected (the status line and headers come first). */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface RawRequest {
  readonly host: string;
  readonly port: number;
  /** A Unix socket to connect to instead of host:port (the control socket); host and port then only fill `Host`. */
  readonly socketPath?: string;
  readonly method: string;
  /** The request target exactly as it goes on the wire (may hold NUL, `\`, `%`). */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON with its content-length. */
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

export interface RawResponse {
  /** 0 when no status line arrived (the server closed the connection first). */
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** The time limit ran out before the server closed (a stream was opened, or the server hung). */
  readonly timedOut: boolean;
}

export function rawRequest(req: RawRequest): Promise<RawResponse> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `host: ${req.host.includes(':') ? `[${req.host}]` : req.host}:${req.port}`, 'connection: close'];
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (name.toLowerCase() === 'host') lines[1] = `host: ${value}`;
    else lines.push(`${name}: ${value}`);
  }
  if (payload) lines.push('content-type: application/json', `content-length: ${payload.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = req.socketPath !== undefined ? connect({ path: req.socketPath }) : connect({ host: req.host, port: req.port });
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const headText = split < 0 ? text : text.slice(0, split);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(headText);
      resolve({ status: m ? Number(m[1]) : 0, head: headText, body: split < 0 ? '' : text.slice(split + 4), timedOut });
    };
    const timer = setTimeout(() => finish(true), req.timeoutMs ?? RAW_REQUEST_TIMEOUT_MS);
    socket.on('connect', () => socket.write(payload ? Buffer.concat([head, payload]) : head));
    socket.on('data', (d: Buffer) => {
      if (size < MAX_RESPONSE_BYTES) chunks.push(d);
      size += d.length;
    });
    socket.on('close', () => finish(false));
    socket.on('error', () => finish(false));
  });
}

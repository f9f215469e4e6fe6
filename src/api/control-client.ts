/**
 * The CLI's client for the control socket (node:http over socketPath). A
 * missing or refusing socket is ERR_DAEMON_NOT_RUNNING; error bodies come back
 * as the same SealsyncError the daemon threw.
 */
import { request } from 'node:http';
import { SealsyncError } from '../errors.js';
import type { StatusReport } from './daemon-api.js';

export const CONTROL_REQUEST_TIMEOUT_MS = 30_000;
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface ControlRequestOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export class ControlClient {
  constructor(readonly socketPath: string) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', path: string, body?: unknown, opts: ControlRequestOptions = {}): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? CONTROL_REQUEST_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
    return new Promise<T>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        signal,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) { res.destroy(); reject(new SealsyncError('ERR_PROTOCOL', 'daemon response too large')); return; }
          chunks.push(c);
        });
        res.on('error', (err) => reject(mapError(err, signal)));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new SealsyncError('ERR_PROTOCOL', `daemon sent a malformed response (HTTP ${res.statusCode})`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            reject(SealsyncError.fromJSON((json as { error?: unknown }).error));
          } else {
            resolve(json as T);
          }
        });
      });
      req.on('error', (err) => reject(mapError(err, signal)));
      req.end(payload);
    });
  }

  status(opts?: ControlRequestOptions): Promise<StatusReport> {
    return this.request<StatusReport>('GET', '/api/status', undefined, opts);
  }
}

function mapError(err: Error, signal: AbortSignal): SealsyncError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') {
    return new SealsyncError('ERR_DAEMON_NOT_RUNNING');
  }
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof DOMException && reason.name === 'TimeoutError'
      ? new SealsyncError('ERR_TIMEOUT', 'the daemon did not answer in time')
      : new SealsyncError('ERR_ABORTED');
  }
  return new SealsyncError('ERR_DAEMON_NOT_RUNNING', `cannot reach the daemon: ${err.message}`);
}

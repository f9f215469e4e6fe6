/**
 * Test support: sends every non-canonical spelling of every route in a route
 * table, with every method the route answers, with no session cookie and no
 * CSRF token, and reports each answer that is not a refusal (400 or 404).
 */
import { pathSpellings } from './path-spellings.js';
import { rawRequest, type RawResponse } from './raw-http.js';

export interface RouteRow {
  readonly method: string;
  readonly url: string;
}

export interface SpellingAttackOptions {
  readonly host: string;
  readonly port: number;
  /** Attack a Unix socket (the control socket) instead of host:port. */
  readonly socketPath?: string;
  /** The body each attack carries, by `METHOD url` (default `{}` for methods with a body). */
  readonly bodies?: Readonly<Record<string, unknown>>;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Called after all spellings of one route and method were sent (e.g. to time a status call). */
  readonly afterRoute?: (row: RouteRow) => Promise<void>;
  /** Called with every answer (e.g. to look for leaked secrets). */
  readonly onAnswer?: (row: RouteRow, target: string, res: RawResponse) => void;
}

export interface SpellingAttackReport {
  readonly requests: number;
  /** `METHOD target -> status` for every answer that was not 400 or 404. */
  readonly accepted: string[];
}

const BODYLESS = new Set(['GET', 'HEAD']);
/** A concrete path for a wildcard route: the web app's own page. */
const WILDCARD_SAMPLE = 'index.html';

/** The canonical path a route row stands for. */
export function samplePath(url: string): string {
  return url.replace(/\*$/, WILDCARD_SAMPLE);
}

export async function attackEverySpelling(routes: readonly RouteRow[], opts: SpellingAttackOptions): Promise<SpellingAttackReport> {
  const accepted: string[] = [];
  let requests = 0;
  const hostPort = `${opts.host}:${opts.port}`;
  for (const row of routes) {
    const key = `${row.method} ${row.url}`;
    const body = BODYLESS.has(row.method) ? undefined : (opts.bodies?.[key] ?? {});
    const spellings = pathSpellings(samplePath(row.url), hostPort);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < spellings.length) {
        const s = spellings[next++]!;
        const res = await rawRequest({ host: opts.host, port: opts.port, ...(opts.socketPath !== undefined ? { socketPath: opts.socketPath } : {}), method: row.method, target: s.target, body, timeoutMs: 5_000 });
        requests++;
        opts.onAnswer?.(row, s.target, res);
        if (res.status !== 400 && res.status !== 404) accepted.push(`${row.method} ${JSON.stringify(s.target)} (${s.label}) -> ${res.status}${res.timedOut ? ' (no answer)' : ''}`);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
    await opts.afterRoute?.(row);
  }
  return { requests, accepted };
}

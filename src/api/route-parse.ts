/** Parsing what a client sends, shared by the route modules: zod at the edge, one-line errors. */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { SealsyncError } from '../errors.js';

const MAX_PATH = 4096;

/** A path from a client: bounded, and no NUL (it would cut the path short in the OS). */
export const pathString = z.string().min(1).max(MAX_PATH).refine((p) => !p.includes('\0'), { message: 'must not contain NUL' });


export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Aborts when the client goes away before the answer is sent (bound to this one response, so keep-alive sockets do not pile up listeners). */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => { if (!res.writableFinished) ac.abort(new SealsyncError('ERR_ABORTED', 'client went away')); });
  return ac.signal;
}


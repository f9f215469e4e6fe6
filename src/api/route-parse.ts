/** Parsing what a client sends, shared by the route modules: zod at the edge, one-line errors. */
import type { ServerResponse } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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


/** An error as the API answers it: `{ error }` in the catalog's shape, with the catalog's HTTP status. */
export function errorBody(err: unknown): { status: number; body: { error: ReturnType<SealsyncError['toJSON']> } } {
  const e = err instanceof SealsyncError ? err : new SealsyncError('ERR_INTERNAL');
  return { status: e.status, body: { error: e.toJSON() } };
}

/**
 * The error handler of every API scope: catalog errors as they are; Fastify's
 * own client errors (malformed JSON, an empty JSON body, a body too large, an
 * unsupported content type) as ERR_INVALID_ARGUMENT with their first line;
 * anything else ERR_INTERNAL, logged.
 */
export function catalogErrorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let e: unknown = err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (!(err instanceof SealsyncError) && typeof status === 'number' && status < 500) {
    e = new SealsyncError('ERR_INVALID_ARGUMENT', err.message.split('\n')[0]);
  } else if (!(err instanceof SealsyncError)) {
    request.log.error({ err }, 'unexpected error in API route');
  }
  const { status: code, body } = errorBody(e);
  void reply.code(code).send(body);
}

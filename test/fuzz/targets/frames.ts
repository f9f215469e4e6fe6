/**
 * Frames (src/net/frame-codec.ts): a TCP stream of `[u32 length][u8 type][payload]`.
 * The input is the stream. It is decoded three ways, which must agree: in one
 * chunk, in chunks split where the input says (a TCP peer chooses the splits
 * too), and in one chunk by a decoder with a small frame limit (which may
 * only refuse more). Every frame
 * handed back must re-encode to exactly the bytes it came from.
 */
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES, type Frame } from '../../../src/net/frame-codec.js';
import { SealsyncError } from '../../../src/errors.js';
import { Rng } from '../mutate.js';
import { DEFAULT_BOUNDS, bulkBytes, oracle, type FuzzTarget } from '../target.js';

/** A limit well below the default, so the refusal path runs with lengths the samples actually have. */
const SMALL_LIMIT = 4096;

const frame = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  payload: fc.oneof(
    { weight: 20, arbitrary: fc.uint8Array({ maxLength: 16 }) },
    { weight: 20, arbitrary: bulkBytes(0, 1024) },
    { weight: 1, arbitrary: bulkBytes(4096, 70_000) },
  ),
});

type Outcome = { frames: Frame[]; pending: number } | { error: string };

function feed(input: Uint8Array, chunks: readonly Uint8Array[], limit?: number): Outcome {
  const dec = new FrameDecoder(limit);
  const frames: Frame[] = [];
  try {
    for (const c of chunks) frames.push(...dec.push(c));
  } catch (err) {
    if (err instanceof SealsyncError) return { error: err.code };
    throw err;
  }
  // Consumed bytes re-encode exactly: nothing skipped, nothing invented.
  let off = 0;
  for (const f of frames) {
    const again = encodeFrame(f.type, f.payload);
    oracle(Buffer.compare(again, input.subarray(off, off + again.length)) === 0, 'a frame does not re-encode to its bytes');
    off += again.length;
  }
  // pendingBytes counts what is held of an incomplete frame; a header already read is not held.
  // The decoder reads a header only once the type byte after it has arrived (the limit
  // depends on the type), so a lone header is still held.
  const rest = input.length - off;
  const held = rest > FRAME_HEADER_BYTES ? rest - FRAME_HEADER_BYTES : rest;
  oracle(dec.pendingBytes === held, `pendingBytes ${dec.pendingBytes}, expected ${held}`);
  return { frames, pending: dec.pendingBytes };
}

/** Split points derived from the input itself, so a saved input replays the same splits. */
function splits(input: Uint8Array): Uint8Array[] {
  let h = input.length;
  for (let i = 0; i < Math.min(input.length, 64); i++) h = Math.imul(h ^ (input[i] as number), 0x01000193);
  const rng = new Rng(h);
  const out: Uint8Array[] = [];
  for (let off = 0; off < input.length;) {
    const n = rng.chance(0.3) ? rng.between(0, FRAME_HEADER_BYTES + 1) : rng.between(1, 4096);
    out.push(input.subarray(off, off + n));
    off += n;
  }
  return out;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b && a.error === b.error;
  return a.pending === b.pending && a.frames.length === b.frames.length
    && a.frames.every((f, i) => f.type === b.frames[i]?.type && Buffer.compare(f.payload, b.frames[i]?.payload as Buffer) === 0);
}

export const framesTarget: FuzzTarget = {
  name: 'frames',
  description: 'FrameDecoder.push (src/net/frame-codec.ts) over a stream, whole and split',
  valid: fc.array(frame, { minLength: 1, maxLength: 8 }).map((fs) => new Uint8Array(Buffer.concat(fs.map((f) => encodeFrame(f.type, f.payload))))),
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: 1024 * 1024,
  open: () => ({
    decode(input) {
      const whole = feed(input, [input]);
      if ('error' in whole) {
        // Refusals must not depend on the splits either (checked here: check() sees only successes).
        oracle(sameOutcome(whole, feed(input, splits(input))), 'the stream is refused differently when split into other chunks');
        throw new SealsyncError(whole.error as SealsyncError['code']);
      }
      return whole;
    },
    check(input, whole) {
      const split = feed(input, splits(input));
      oracle(sameOutcome(whole as Outcome, split), 'the stream decodes differently when split into other chunks');
      const small = feed(input, [input], SMALL_LIMIT);
      // A smaller limit may only refuse (a frame over it), never decode differently.
      oracle(('error' in small && small.error === 'ERR_FRAME_TOO_LARGE') || sameOutcome(whole as Outcome, small), 'a small limit changed what decodes');
    },
  }),
};

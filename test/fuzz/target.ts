/**
 * What one fuzz target is. A target wraps one decoder of hostile input: the
 * harness (harness.ts) feeds it structure-aware samples from `valid` and byte
 * mutations of them (mutate.ts), and calls every input a crash that throws
 * anything but a catalog error (SealsyncError), takes longer than
 * `bounds.msPerInput`, or lets the process grow past `bounds.rssMiB`.
 *
 * Every input is bytes: files, wire messages, HTTP bodies and typed text all
 * reach sealsync as bytes, and bytes are what mutation works on. A target
 * whose decoder takes text decodes the bytes as UTF-8 first, as the daemon does.
 *
 * A new decoder, or a new version of a format, gets a module in targets/ and
 * a line in registry.ts.
 */
import fc from 'fast-check';
import { Rng } from './mutate.js';

/** The limits whose breach is a crash. */
export interface FuzzBounds {
  /** Most CPU time a single input may take to decode (the lowest of a few repeated runs, see harness.ts). */
  readonly msPerInput: number;
  /** Resident set size of the fuzzing process the target runs in. */
  readonly rssMiB: number;
  /** V8 old-space limit of that process (--max-old-space-size): past it the process dies, which is a crash. */
  readonly heapMiB: number;
}

/** The default bounds: 100 ms per input, and the memory a daemon decoding one such input may use. */
export const DEFAULT_BOUNDS: FuzzBounds = { msPerInput: 100, rssMiB: 384, heapMiB: 256 };

export const DEFAULT_MAX_INPUT_BYTES = 256 * 1024;

/** A decoder ready to take inputs; `close` releases what `open` set up. */
export interface FuzzDecoder {
  /**
   * Decodes one input, as the code under test does (this is what the time
   * bound measures). Returning or throwing a SealsyncError is a pass.
   */
  decode(input: Uint8Array): unknown;
  /**
   * The oracle, run after a successful decode and not timed: throws an
   * OracleFailure when the decoded value breaks a property the decoder
   * promises (re-encoding gives other bytes, say).
   */
  check?(input: Uint8Array, decoded: unknown): unknown;
  close?(): Promise<void> | void;
}

export interface FuzzTarget {
  /** Short, stable, kebab-case: used by --target and as the corpus folder name. */
  readonly name: string;
  /** The decoder under test, in a few words (printed by --list). */
  readonly description: string;
  /** Structure-aware generator of valid encodings; every sample must decode without error. */
  readonly valid: fc.Arbitrary<Uint8Array>;
  /**
   * Structure-aware inputs built to be refused (a zip bomb, a count past its
   * limit, nesting past any sane depth): attacks that random mutation of a
   * valid sample would rarely hit. Refusing them with a catalog error passes.
   */
  readonly hostile?: fc.Arbitrary<Uint8Array>;
  readonly bounds: FuzzBounds;
  /** Tokens of the format that byte mutation inserts (JSON punctuation, glob syntax, ...). */
  readonly dictionary?: readonly string[];
  /** Mutated inputs are cut to this length (default DEFAULT_MAX_INPUT_BYTES). */
  readonly maxInputBytes?: number;
  open(): Promise<FuzzDecoder> | FuzzDecoder;
}

/** A decoded value that breaks a property the decoder promises (for example, re-encoding gives other bytes). */
export class OracleFailure extends Error {
  override readonly name = 'OracleFailure';
}

export function oracle(condition: boolean, message: string): void {
  if (!condition) throw new OracleFailure(message);
}

const utf8 = new TextDecoder('utf-8');

/** Bytes as the text a file or a request body would give (invalid sequences become U+FFFD, as readFile(…, 'utf8') does). */
export function textOf(input: Uint8Array): string {
  return utf8.decode(input);
}

const encoder = new TextEncoder();

export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Random bytes of a length fast-check picks: for payloads whose content does
 * not matter to the decoder. fc.uint8Array draws every byte through
 * fast-check, which for tens of KiB costs more than decoding them.
 */
export function bulkBytes(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer()).map(([n, seed]) => new Rng(seed).bytes(n));
}

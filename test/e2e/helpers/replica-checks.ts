/**
 * Checks for the encrypted-peer e2e tests: compare two folder trees, and scan
 * every byte under some directories for names or content that must never be
 * there (the untrusted storage peer's disk).
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Entries a full peer keeps for itself inside a folder (archive, temp files): not part of the user's tree. */
const INTERNAL_NAME = /^\.sealsync/;
/** Upper bound on files walked, so a runaway tree fails loudly instead of hanging. */
const MAX_WALK_FILES = 100_000;
/** Window of the content check (DESIGN: no 64-byte slice of a file may appear in clear). */
export const SLICE_BYTES = 64;

export interface TreeEntry {
  readonly kind: 'file' | 'dir' | 'symlink';
  /** SHA-256 of the content, for files. */
  readonly digest?: string;
}

/** relative path → kind and content digest, skipping sealsync's internal entries. */
export async function treeSnapshot(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      if (INTERNAL_NAME.test(name)) continue;
      if (out.size > MAX_WALK_FILES) throw new Error(`more than ${MAX_WALK_FILES} entries under ${root}`);
      const full = join(dir, name);
      const rel = relative(root, full);
      const st = await lstat(full);
      if (st.isDirectory()) {
        out.set(rel, { kind: 'dir' });
        await walk(full);
      } else if (st.isSymbolicLink()) {
        out.set(rel, { kind: 'symlink' });
      } else if (st.isFile()) {
        out.set(rel, { kind: 'file', digest: createHash('sha256').update(await readFile(full)).digest('hex') });
      }
    }
  };
  await walk(root);
  return out;
}

/** Every regular file under `roots` (a root may itself be a file; no symlinks followed). */
export async function listFiles(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length > MAX_WALK_FILES) throw new Error(`more than ${MAX_WALK_FILES} files to scan`);
      const full = join(dir, name);
      const st = await lstat(full).catch(() => null);
      if (st?.isDirectory()) await walk(full);
      else if (st?.isFile()) out.push(full);
    }
  };
  for (const r of roots) {
    const st = await lstat(r).catch(() => null);
    if (st?.isFile()) out.push(r);
    else if (st?.isDirectory()) await walk(r);
  }
  return out;
}

export interface LeakFinding {
  readonly file: string;
  readonly what: string;
  readonly offset: number;
}

/**
 * Scans every byte of every file under `roots` for each needle string (UTF-8
 * and UTF-16LE), and for any SLICE_BYTES-long slice of any of `secrets`.
 * Slices are matched with a rolling hash, confirmed bytewise.
 */
export async function findLeaks(
  roots: readonly string[],
  needles: readonly string[],
  secrets: readonly Uint8Array[],
): Promise<LeakFinding[]> {
  const patterns = needles.flatMap((n) => [
    { what: `name "${n}"`, bytes: Buffer.from(n, 'utf8') },
    { what: `name "${n}" (utf-16)`, bytes: Buffer.from(n, 'utf16le') },
  ]);
  const sliceIndex = new Map<number, { secret: number; at: number }[]>();
  secrets.forEach((s, si) => {
    if (s.length < SLICE_BYTES) return;
    let h = rollingInit(s, 0);
    for (let at = 0; ; at++) {
      let list = sliceIndex.get(h);
      if (!list) sliceIndex.set(h, (list = []));
      // A few positions per hash are enough to confirm a hit (random data rarely collides).
      if (list.length < 4) list.push({ secret: si, at });
      if (at + SLICE_BYTES >= s.length) break;
      h = rollingNext(h, s[at] as number, s[at + SLICE_BYTES] as number);
    }
  });
  const findings: LeakFinding[] = [];
  for (const file of await listFiles(roots)) {
    const data = await readFile(file);
    for (const p of patterns) {
      const at = data.indexOf(p.bytes);
      if (at >= 0) findings.push({ file, what: p.what, offset: at });
    }
    if (data.length < SLICE_BYTES || sliceIndex.size === 0) continue;
    let h = rollingInit(data, 0);
    for (let at = 0; ; at++) {
      const hits = sliceIndex.get(h);
      if (hits) {
        for (const hit of hits) {
          const secret = secrets[hit.secret] as Uint8Array;
          if (Buffer.compare(data.subarray(at, at + SLICE_BYTES), secret.subarray(hit.at, hit.at + SLICE_BYTES)) === 0) {
            findings.push({ file, what: `${SLICE_BYTES}-byte slice of secret #${hit.secret} at ${hit.at}`, offset: at });
            break;
          }
        }
        if (findings.length > 20) return findings;
      }
      if (at + SLICE_BYTES >= data.length) break;
      h = rollingNext(h, data[at] as number, data[at + SLICE_BYTES] as number);
    }
  }
  return findings;
}

// Polynomial rolling hash mod 2^32 over a SLICE_BYTES window.
const BASE = 257;
const BASE_POW = (() => {
  let p = 1;
  for (let i = 0; i < SLICE_BYTES - 1; i++) p = Math.imul(p, BASE) >>> 0;
  return p;
})();

function rollingInit(buf: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < SLICE_BYTES; i++) h = (Math.imul(h, BASE) + (buf[at + i] as number)) >>> 0;
  return h;
}

function rollingNext(h: number, out: number, inp: number): number {
  const without = (h - Math.imul(out, BASE_POW)) >>> 0;
  return (Math.imul(without, BASE) + inp) >>> 0;
}

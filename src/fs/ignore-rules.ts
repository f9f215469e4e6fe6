/**
 * Which paths a folder does not sync. Three layers, checked in this order:
 *
 * 1. Fixed: sealsync's own `.sealsync/` state directory (any depth, any
 *    spelling a file system may take for it: model/path.ts isStateDirName)
 *    and the puller's temp files (`.sealsync-tmp-*`) are always ignored;
 *    `.sealignore` itself is never ignored (it syncs like any file, so every
 *    device shares the rules).
 * 2. Built-in junk that no one wants synced: macOS (.DS_Store, ._*, .Trashes,
 *    .Spotlight-V100, .fseventsd), Windows (Thumbs.db, desktop.ini) and
 *    Office lock files (~$*). Case-insensitive. User rules cannot un-ignore
 *    layers 1 and 2.
 * 3. User rules in gitignore syntax (fs/gitignore-match.ts, which cannot
 *    backtrack whatever a peer writes): `.sealignore` at
 *    the folder root (shared) then `.sealsync/ignore` (this device only;
 *    later rules win, so a local `!pattern` can re-include a shared one).
 *    Case-sensitive, like git on Linux.
 *
 * Rule files are bounded (MAX_IGNORE_FILE_BYTES, MAX_IGNORE_RULES): a peer can
 * write `.sealignore`, and every rule costs time on every path of every scan.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { SealsyncError } from '../errors.js';
import { STATE_DIR_NAME, isInStateDir } from '../model/path.js';
import { GitignoreMatcher } from './gitignore-match.js';
import { TEMP_PREFIX } from './temp-files.js';

export { TEMP_PREFIX };
export const SHARED_IGNORE_FILE = '.sealignore';
/** Relative to the folder root, inside the never-synced state directory. */
export const LOCAL_IGNORE_FILE = `${STATE_DIR_NAME}/ignore`;
export const MAX_IGNORE_FILE_BYTES = 64 * 1024;
/** Pattern lines (not blank, not comments) per file. */
export const MAX_IGNORE_RULES = 1000;

export const BUILTIN_IGNORE_PATTERNS: readonly string[] = [
  '.DS_Store', '._*', '.Trashes', '.Spotlight-V100', '.fseventsd', 'Thumbs.db', 'desktop.ini', '~$*',
];

/** True for a name (last path segment) of one of our in-progress temp files. */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

const FINGERPRINT_VERSION = 'sealsync-ignore-v2';

export class IgnoreRules {
  /** Changes whenever the effective rules change (rules text, built-ins version). */
  readonly fingerprint: string;
  readonly #builtin: GitignoreMatcher;
  readonly #user: GitignoreMatcher;

  private constructor(shared: string, local: string) {
    this.#builtin = new GitignoreMatcher(true).add(BUILTIN_IGNORE_PATTERNS.join('\n'));
    this.#user = new GitignoreMatcher(false).add(checkRules(shared, SHARED_IGNORE_FILE)).add(checkRules(local, LOCAL_IGNORE_FILE));
    this.fingerprint = createHash('sha256')
      .update(`${FINGERPRINT_VERSION}\0${BUILTIN_IGNORE_PATTERNS.join('\n')}\0${shared}\0${local}`)
      .digest('hex')
      .slice(0, 32);
  }

  static fromText(shared: string, local: string): IgnoreRules {
    return new IgnoreRules(shared, local);
  }

  /** Reads `.sealignore` and `.sealsync/ignore` under `root` (missing files are empty). */
  static async load(root: string, opts: { signal?: AbortSignal } = {}): Promise<IgnoreRules> {
    const shared = await readRuleFile(join(root, SHARED_IGNORE_FILE));
    if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
    const local = await readRuleFile(join(root, LOCAL_IGNORE_FILE));
    return new IgnoreRules(shared, local);
  }

  /** `relPath`: '/'-separated, relative to the folder root, NFC. */
  ignores(relPath: string, isDir: boolean): boolean {
    if (isInStateDir(relPath)) return true;
    if (relPath === SHARED_IGNORE_FILE) return false;
    const slash = relPath.lastIndexOf('/');
    if (relPath.startsWith(TEMP_PREFIX, slash + 1)) return true;
    return this.#builtin.ignores(relPath, isDir) || this.#user.ignores(relPath, isDir);
  }
}

function checkRules(text: string, source: string): string {
  if (Buffer.byteLength(text, 'utf8') > MAX_IGNORE_FILE_BYTES) {
    throw new SealsyncError('ERR_CONFIG_INVALID', `${source} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`, { file: source });
  }
  let rules = 0;
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) rules++;
  }
  if (rules > MAX_IGNORE_RULES) {
    throw new SealsyncError('ERR_CONFIG_INVALID', `${source} has more than ${MAX_IGNORE_RULES} rules`, { file: source });
  }
  return text.replace(/^\uFEFF/, '');
}

/** A rule file's text; '' when it does not exist or is not a regular file (e.g. a symlink). */
async function readRuleFile(path: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return '';
    throw new SealsyncError('ERR_PATH_UNREADABLE', `cannot read ${path}: ${code ?? String(err)}`, { path, errno: code });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return '';
    if (st.size > MAX_IGNORE_FILE_BYTES) {
      throw new SealsyncError('ERR_CONFIG_INVALID', `${path} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`, { path });
    }
    const buf = Buffer.alloc(MAX_IGNORE_FILE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_IGNORE_FILE_BYTES) {
      throw new SealsyncError('ERR_CONFIG_INVALID', `${path} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`, { path });
    }
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

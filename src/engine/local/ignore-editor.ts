/**
 * The `.sealignore` editor's engine side: read the shared rules, preview what
 * a candidate text would exclude (a walk of the folder under those rules,
 * bounded), and write it atomically (temp file with our temp prefix, which
 * the scanner skips, then rename). The file syncs like any other, so every
 * device gets the rules; the caller rescans so they apply here at once.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SealsyncError } from '../../errors.js';
import { IgnoreRules, LOCAL_IGNORE_FILE, MAX_IGNORE_FILE_BYTES, SHARED_IGNORE_FILE } from '../../fs/ignore-rules.js';
import { TEMP_PREFIX } from '../../fs/temp-files.js';
import { walkFolder } from '../../fs/walk.js';
import { isInStateDir } from '../../model/path.js';

/** Paths one preview lists (the outermost excluded ones; a directory stands for what is below it). */
export const MAX_PREVIEW_PATHS = 200;
/** Entries one preview walks at most (a huge folder gives a partial preview, flagged). */
export const MAX_PREVIEW_ENTRIES = 200_000;

export interface IgnorePreview {
  /** Outermost excluded paths (directories end with '/'), at most MAX_PREVIEW_PATHS. */
  readonly excluded: readonly string[];
  /** How many outermost paths the rules exclude in all. */
  readonly excludedCount: number;
  /** The walk stopped at MAX_PREVIEW_ENTRIES: counts are a lower bound. */
  readonly partial: boolean;
}

async function readText(abs: string): Promise<string> {
  const st = await lstat(abs).catch(() => null);
  if (!st?.isFile()) return '';
  if (st.size > MAX_IGNORE_FILE_BYTES) throw new SealsyncError('ERR_CONFIG_INVALID', `${SHARED_IGNORE_FILE} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`);
  const fh = await open(abs, 'r');
  try {
    return (await fh.readFile()).toString('utf8');
  } finally {
    await fh.close();
  }
}

export function readSharedIgnore(root: string): Promise<string> {
  return readText(join(root, SHARED_IGNORE_FILE));
}

/** What `text` as `.sealignore` (with this device's local rules) would exclude under `root` now. */
export async function previewIgnore(root: string, text: string, opts: { signal?: AbortSignal } = {}): Promise<IgnorePreview> {
  const rules = IgnoreRules.fromText(text, await readText(join(root, LOCAL_IGNORE_FILE))); // throws on too large / too many rules
  const excluded: string[] = [];
  let excludedCount = 0;
  let visited = 0;
  let partial = false;
  const ignore = {
    ignores: (path: string, isDir: boolean): boolean => {
      if (isInStateDir(path)) return true;
      if (++visited > MAX_PREVIEW_ENTRIES) { partial = true; return true; }
      if (!rules.ignores(path, isDir)) return false;
      excludedCount++;
      if (excluded.length < MAX_PREVIEW_PATHS) excluded.push(isDir ? `${path}/` : path);
      return true;
    },
  };
  for await (const entry of walkFolder(root, { ignore, ...(opts.signal ? { signal: opts.signal } : {}) })) void entry;
  return { excluded: excluded.sort(), excludedCount, partial };
}

/** Replaces `.sealignore` with `text` (checked first: bounded size and rule count); '' removes it. */
export async function writeSharedIgnore(root: string, text: string): Promise<void> {
  IgnoreRules.fromText(text, '');
  const target = join(root, SHARED_IGNORE_FILE);
  const st = await lstat(target).catch(() => null);
  if (st && !st.isFile()) throw new SealsyncError('ERR_PATH_UNSAFE', `${SHARED_IGNORE_FILE} is not a regular file`);
  if (text === '') {
    if (st) await unlink(target);
    return;
  }
  const temp = join(root, `${TEMP_PREFIX}ignore-${randomBytes(8).toString('hex')}`);
  const fh = await open(temp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * The folder marker: a file inside the folder's `.sealsync/` directory that
 * says "this directory is the shared folder". Like Syncthing's `.stfolder`, it
 * guards against the worst failure of a sync tool: a folder whose disk is not
 * mounted (an empty mount point), or that was emptied or replaced by accident,
 * looks exactly like "the user deleted everything", and a scan would send a
 * delete for every file to every peer.
 *
 * Before every scan (and every pull run) the root must be a directory and the
 * marker must exist. A missing marker is created when the folder is new to
 * this device (the index knows no file of it) or when the directory still has
 * content (a folder shared before markers existed, or a marker deleted by
 * hand). A missing marker in an empty directory whose files the index knows
 * stops the folder with ERR_FOLDER_MARKER_MISSING: nothing is scanned, sent or
 * applied until the disk is back (or the user recreates the marker to say
 * "yes, it really is empty now").
 */
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SealsyncError } from '../errors.js';

/** The marker, relative to the folder root. */
export const FOLDER_MARKER_PATH = '.sealsync/folder-marker';
const STATE_DIR = '.sealsync';

/**
 * Checks that `root` is the folder (a directory holding the marker); writes
 * the marker when that is safe. `knowsFiles`: the index holds files of this folder.
 */
export async function checkFolderRoot(root: string, knowsFiles: () => boolean): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await lstat(root)).isDirectory();
  } catch (err) {
    throw new SealsyncError('ERR_PATH_MISSING', `folder path ${root} does not exist (unmounted or removed?); nothing is synced until it is back`, undefined, { cause: err });
  }
  if (!isDir) throw new SealsyncError('ERR_PATH_NOT_DIR', `folder path ${root} is not a directory`);
  const marker = join(root, FOLDER_MARKER_PATH);
  try {
    await lstat(marker);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SealsyncError('ERR_PATH_UNREADABLE', `folder marker ${marker} cannot be read`, undefined, { cause: err });
  }
  const content = (await readdir(root)).filter((name) => name !== STATE_DIR);
  if (content.length === 0 && knowsFiles()) {
    throw new SealsyncError('ERR_FOLDER_MARKER_MISSING',
      `folder ${root} is empty and its marker ${FOLDER_MARKER_PATH} is gone (unmounted or emptied?); nothing is deleted on peers. ` +
      `If it really is empty now, create that file and run \`sealsync folder rescan\``);
  }
  await writeMarker(root);
}

async function writeMarker(root: string): Promise<void> {
  await mkdir(join(root, STATE_DIR), { recursive: true, mode: 0o700 });
  await writeFile(join(root, FOLDER_MARKER_PATH), 'This directory is a sealsync folder. Removing this file stops syncing it.\n', { mode: 0o600, flag: 'wx' })
    .catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
}

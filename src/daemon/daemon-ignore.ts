/**
 * `.sealignore` through the daemon (the dashboard's editor, `folder ignore`):
 * read it, preview a candidate, save it and rescan so it applies here at once
 * (it syncs to every device like any file). Full (rw/ro) folders only.
 */
import { SealsyncError } from '../errors.js';
import { previewIgnore, readSharedIgnore, writeSharedIgnore, type IgnorePreview } from '../engine/local/ignore-editor.js';
import type { FolderRunner } from './folder-runner.js';
import type { OpOptions } from './daemon-types.js';

export interface DaemonIgnoreDeps {
  readonly folder: (path: string) => Promise<{ readonly runner: FolderRunner; readonly path: string }>;
}

export class DaemonIgnore {
  constructor(private readonly deps: DaemonIgnoreDeps) {}

  async read(path: string): Promise<string> {
    return readSharedIgnore((await this.fullFolder(path)).path);
  }

  async preview(path: string, text: string, opts: OpOptions = {}): Promise<IgnorePreview> {
    return previewIgnore((await this.fullFolder(path)).path, text, opts);
  }

  async save(path: string, text: string): Promise<void> {
    const f = await this.fullFolder(path);
    await writeSharedIgnore(f.path, text);
    void f.runner.rescan?.({}).catch(() => undefined); // the folder's status reports a failed scan
  }

  private async fullFolder(path: string) {
    const f = await this.deps.folder(path);
    if (!f.runner.rescan) throw new SealsyncError('ERR_FOLDER_TYPE', '.sealignore applies to read-write and read-only folders that are running');
    return f;
  }
}

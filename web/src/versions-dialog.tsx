/**
 * A folder's archived versions: every file with copies in the archive
 * (deleted ones marked), each version with its time, size and the device
 * whose change replaced it, and Restore. A directory whose files were deleted
 * gets one "Restore all" for every missing file below it. Paths and device
 * names come from peers: rendered as text only.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type DeviceRef, type FileVersionsInfo } from './api.js';
import { Dialog } from './dialog.js';
import { bytes, time } from './format.js';

export function deviceWords(d: DeviceRef | null): string {
  if (!d) return 'an unknown device';
  const name = d.name ?? `device ${d.id.slice(0, 7)}`;
  return d.thisDevice ? `${name} (this device)` : name;
}

/** Directories holding deleted files with archived copies, outermost first. */
export function deletedDirectories(files: readonly FileVersionsInfo[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    if (!f.deleted) continue;
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/** The folder's archive retention: days (blank = the global setting) and a size bound in MiB (0 = a tenth of the folder's disk). */
function RetentionForm(props: { folder: string; onError: (e: unknown) => void }) {
  const [days, setDays] = useState('');
  const [mib, setMib] = useState('0');
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api.folders().then(({ folders }) => {
      const r = folders.find((f) => f.path === props.folder)?.retention;
      if (r) { setDays(r.retentionDays === null ? '' : String(r.retentionDays)); setMib(String(r.maxMiB)); }
    }, props.onError);
  }, [props.folder]);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await api.setRetention(props.folder, days.trim() === '' ? null : Number(days), Number(mib));
      setSaved(true);
    } catch (err) {
      props.onError(err);
    }
  };
  return (
    <form class="inline-form retention" onSubmit={save} data-testid="retention-form">
      <label>Keep versions (days, blank: the global setting)
        <input inputMode="numeric" pattern="[0-9]*" value={days} data-testid="retention-days" onInput={(e) => { setDays((e.target as HTMLInputElement).value); setSaved(false); }} />
      </label>
      <label>At most (MiB, 0: a tenth of the disk)
        <input inputMode="numeric" pattern="[0-9]+" required value={mib} data-testid="retention-mib" onInput={(e) => { setMib((e.target as HTMLInputElement).value); setSaved(false); }} />
      </label>
      <button type="submit" data-testid="retention-save">{saved ? 'Saved' : 'Save'}</button>
    </form>
  );
}

export function VersionsDialog(props: { folder: string; onClose: () => void; onError: (e: unknown) => void }) {
  const [files, setFiles] = useState<FileVersionsInfo[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const load = async () => {
    try {
      setFiles((await api.versions(props.folder)).files);
    } catch (err) {
      props.onError(err);
    }
  };
  useEffect(() => { void load(); }, [props.folder]);

  const restore = async (file: string, version?: string) => {
    setBusy(true);
    try {
      const { restored } = await api.restore(props.folder, file, version);
      setDone(restored.length === 0 ? 'Nothing to restore: every file is there.' : `Restored ${restored.length === 1 ? restored[0] : `${restored.length} files`}.`);
      await load();
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };

  const dirs = files ? deletedDirectories(files) : [];
  return (
    <Dialog title={`Versions in ${props.folder}`} onClose={props.onClose} testid="versions-dialog" wide>
      <RetentionForm folder={props.folder} onError={props.onError} />
      {done && <p class="notice small" role="status" data-testid="restore-done">{done}</p>}
      {files === null && <p class="muted">Loading…</p>}
      {files?.length === 0 && <p class="empty">No archived versions. When another device changes or deletes a file, the old content is kept here.</p>}
      {dirs.length > 0 && (
        <ul class="version-dirs" aria-label="Deleted folders">
          {dirs.map((d) => (
            <li key={d} data-testid="version-dir" data-path={d}>
              <span class="path">{d}/</span>
              <button type="button" class="small-btn" disabled={busy} data-testid="restore-dir" onClick={() => restore(d)}
                aria-label={`Restore every deleted file in ${d}`}>Restore all</button>
            </li>
          ))}
        </ul>
      )}
      <ul class="version-files">
        {files?.map((f) => (
          <li key={f.path} class="version-file" data-testid="version-file" data-path={f.path}>
            <h3 class="path">{f.path}{f.deleted && <span class="badge state-error">deleted</span>}</h3>
            <ol class="version-list">
              {f.versions.map((v) => (
                <li key={v.version} class="version" data-testid="version" data-version={v.version}>
                  <span><time>{time(v.archivedAt)}</time> · {bytes(v.size)}</span>
                  <span class="muted small">replaced by {deviceWords(v.replacedBy)}</span>
                  <button type="button" class="small-btn" disabled={busy} data-testid="restore"
                    aria-label={`Restore ${f.path} as of ${time(v.archivedAt)}`} onClick={() => restore(f.path, v.version)}>Restore</button>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

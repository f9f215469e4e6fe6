/** The folder list: state, local vs global, what is still needed, errors in plain words. */
import { useState } from 'preact/hooks';
import type { FolderStatus, PeerStatus } from './api.js';
import { api } from './api.js';
import { bytes, count, duration, time, TYPE_NAMES } from './format.js';
import { VersionsDialog } from './versions-dialog.js';
import { ConflictsDialog } from './conflicts-dialog.js';
import { IgnoreDialog } from './ignore-dialog.js';
import { AddFolderDialog } from './add-folder.js';
import { ShareDialog } from './share-dialog.js';
import { ConfirmDialog } from './dialog.js';

const STATE_WORDS: Record<FolderStatus['state'], string> = {
  scanning: 'Scanning',
  idle: 'Up to date',
  syncing: 'Syncing',
  waiting: 'Waiting',
  unshared: 'Not shared yet',
  error: 'Problem',
};
const MAX_LISTED_PATHS = 10;

/**
 * Share of the folder that is here, 0–100: the daemon's own progress while
 * it syncs (the CLI shows the same number), else the global bytes present;
 * never 100 while a file is still needed.
 */
export function syncedPercent(f: FolderStatus): number {
  if (f.progress) return f.progress.percent;
  if (f.needFiles === 0) return 100;
  if (f.globalBytes <= 0) return 0;
  return Math.max(0, Math.min(99, Math.floor(((f.globalBytes - f.needBytes) / f.globalBytes) * 100)));
}

/** Names of the connected devices that share the folder at `path` now (peer-given: shown as text). */
export function sharingNames(peers: readonly PeerStatus[], path: string): string[] {
  return peers.filter((p) => p.connected && p.folders?.includes(path)).map((p) => p.name ?? p.address);
}

/** "12.0 MiB/s, 3 s left" for a sync in progress. */
export function progressWords(p: NonNullable<FolderStatus['progress']>): string {
  const left = p.etaSeconds === null ? 'time left unknown' : `${duration(p.etaSeconds)} left`;
  return `${bytes(p.rate)}/s, ${left}`;
}

/** "97 %, 3 files (2.0 MiB) to go" for one device sharing the folder; its own count. */
export function deviceProgressWords(d: NonNullable<FolderStatus['devices']>[number]): string {
  if (d.percent === null) return 'progress not reported yet';
  if (d.percent === 100) return '100 %, up to date';
  return `${d.percent} %, ${count(d.needFiles ?? 0, 'file')} (${bytes(d.needBytes ?? 0)}) to go`;
}

interface FolderActions {
  onShare: () => void; onRemove: () => void; onVersions: () => void; onConflicts: () => void; onRescan: () => void; onPause: () => void; onIgnore: () => void;
}

function FolderCard(props: { folder: FolderStatus; sharing: readonly string[] } & FolderActions) {
  const f = props.folder;
  const pct = syncedPercent(f);
  const encrypted = f.type === 'encrypted';
  return (
    <article class={`card folder state-${f.state}`} data-testid="folder" data-path={f.path} data-state={f.state}>
      <div class="folder-head">
        <h3 class="path" title={f.path}>{f.path}</h3>
        <span class={`badge type-${f.type}`}>{TYPE_NAMES[f.type]}</span>
        <span class={`badge state-${f.state}`} data-testid="folder-state">{STATE_WORDS[f.state]}</span>
      </div>
      {encrypted && <p class="muted small">This device stores the folder sealed: it sees only counts and sizes, never names or contents.</p>}
      <dl class="stats">
        {/* Count and size on their own lines: a third of a card is too narrow for both. */}
        <div><dt>Here</dt><dd><span>{count(f.localFiles, 'file')}</span> <span class="size">{bytes(f.localBytes)}</span></dd></div>
        <div><dt>Everywhere</dt><dd><span>{count(f.globalFiles, 'file')}</span> <span class="size">{bytes(f.globalBytes)}</span></dd></div>
        <div><dt>Still needed</dt><dd>{f.needFiles > 0 ? <><span>{count(f.needFiles, 'file')}</span> <span class="size">{bytes(f.needBytes)}</span></> : 'nothing'}</dd></div>
      </dl>
      <div class="progress-row">
        <progress max={100} value={pct} aria-label="synced" />
        <span class="pct" data-testid="folder-progress">{pct}%</span>
      </div>
      {f.progress && <p class="muted small" data-testid="folder-rate">{progressWords(f.progress)}</p>}
      <p class="muted small" data-testid="folder-sharing">
        {count(f.peers.connected, 'device')} sharing now{props.sharing.length > 0 ? `: ${props.sharing.join(', ')}` : ''}
        {f.peers.lastSeenAt !== null ? ` · last sync ${time(f.peers.lastSeenAt)}` : ''}
      </p>
      {f.devices && f.devices.length > 0 && (
        <ul class="small folder-devices" data-testid="folder-devices" aria-label="how far each device is">
          {/* Names come from peers: rendered as text only (Preact escapes them). */}
          {f.devices.map((d) => (
            <li key={d.id} data-testid="folder-device" data-device={d.id} data-percent={d.percent ?? ''}>
              <span class="device-name">{d.name ?? d.id.slice(0, 7)}</span>: {deviceProgressWords(d)}
            </li>
          ))}
        </ul>
      )}
      {f.notice && <p class="notice small" data-testid="folder-notice">{f.notice}</p>}
      {f.scan && <p class="muted small">Scanning: {count(f.scan.files, 'file')}, {bytes(f.scan.bytes)} at {bytes(f.scan.rate)}/s</p>}
      {f.error && <p class="alert small" data-testid="folder-error">{f.error}</p>}
      {f.parkedCount > 0 && (
        <details class="small" data-testid="folder-parked">
          <summary>{count(f.parkedCount, 'path')} not synced yet</summary>
          {/* Paths and reasons come from peers: rendered as text only (Preact escapes them). */}
          <ul class="paths">{f.parked.slice(0, MAX_LISTED_PATHS).map((p) => <li key={p.path}>{p.path}: {p.reason}</li>)}</ul>
        </details>
      )}
      {!encrypted && f.unreadable && f.unreadable.length > 0 && (
        <details class="small">
          <summary>{count(f.unreadable.length, 'file')} could not be read</summary>
          <ul class="paths">{f.unreadable.slice(0, MAX_LISTED_PATHS).map((p) => <li key={p}>{p}</li>)}</ul>
        </details>
      )}
      {!encrypted && f.localChanges && f.localChanges.length > 0 && (
        <details class="small">
          <summary>{count(f.localChanges.length, 'local change')} not sent (read-only folder)</summary>
          <ul class="paths">{f.localChanges.slice(0, MAX_LISTED_PATHS).map((p) => <li key={p}>{p}</li>)}</ul>
        </details>
      )}
      <div class="actions">
        {!encrypted && !f.paused && <button type="button" data-testid="versions" onClick={props.onVersions}>Versions…</button>}
        {!encrypted && !f.paused && <button type="button" data-testid="conflicts" onClick={props.onConflicts}>Conflicts…</button>}
        {!encrypted && !f.paused && <button type="button" data-testid="rescan" onClick={props.onRescan}>Rescan</button>}
        {!encrypted && !f.paused && <button type="button" data-testid="ignore" onClick={props.onIgnore}>Ignore rules…</button>}
        <button type="button" data-testid="pause" onClick={props.onPause}>{f.paused ? 'Resume' : 'Pause'}</button>
        <button type="button" data-testid="share" onClick={props.onShare}>Share…</button>
        <button type="button" class="danger" data-testid="remove" onClick={props.onRemove}>Remove…</button>
      </div>
    </article>
  );
}

export function Folders(props: { folders: readonly FolderStatus[] | null; peers?: readonly PeerStatus[]; onChange: () => void; onError: (e: unknown) => void }) {
  const [adding, setAdding] = useState(false);
  const [sharing, setSharing] = useState<FolderStatus | null>(null);
  const [removing, setRemoving] = useState<FolderStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [versions, setVersions] = useState<string | null>(null);
  const [conflicts, setConflicts] = useState<string | null>(null);
  const [ignoring, setIgnoring] = useState<string | null>(null);
  const rescan = (path: string) => { api.rescan(path).then(props.onChange, props.onError); };
  const pause = (f: FolderStatus) => { api.pause(f.path, !f.paused).then(props.onChange, props.onError); };

  const confirmRemove = async () => {
    if (!removing) return;
    setBusy(true);
    try {
      await api.removeFolder(removing.path);
      setRemoving(null);
      props.onChange();
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="folders-title">
      <div class="section-head">
        <h2 id="folders-title">Folders</h2>
        <button type="button" class="primary" data-testid="add-folder" onClick={() => setAdding(true)}>Add folder</button>
      </div>
      {props.folders === null && <p class="muted">Loading…</p>}
      {props.folders?.length === 0 && <p class="empty">No folders yet. Add one to start syncing.</p>}
      <div class="grid" data-testid="folder-list">
        {props.folders?.map((f) => (
          <FolderCard key={f.path} folder={f} sharing={sharingNames(props.peers ?? [], f.path)} onShare={() => setSharing(f)} onRemove={() => setRemoving(f)}
            onVersions={() => setVersions(f.path)} onConflicts={() => setConflicts(f.path)} onRescan={() => rescan(f.path)}
            onPause={() => pause(f)} onIgnore={() => setIgnoring(f.path)} />
        ))}
      </div>
      {adding && <AddFolderDialog onClose={() => setAdding(false)} onAdded={() => { setAdding(false); props.onChange(); }} />}
      {ignoring && <IgnoreDialog folder={ignoring} onClose={() => setIgnoring(null)} onError={props.onError} />}
      {versions && <VersionsDialog folder={versions} onClose={() => { setVersions(null); props.onChange(); }} onError={props.onError} />}
      {conflicts && <ConflictsDialog folder={conflicts} onClose={() => { setConflicts(null); props.onChange(); }} onError={props.onError} />}
      {sharing && <ShareDialog folder={sharing} onClose={() => setSharing(null)} />}
      {removing && (
        <ConfirmDialog title="Remove folder?" confirm="Remove" busy={busy} testid="remove-dialog" confirmTestid="confirm-remove"
          onConfirm={confirmRemove} onCancel={() => setRemoving(null)}>
          <p>Stop syncing <strong>{removing.path}</strong> on this device? The files stay on disk; other devices keep their copies.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

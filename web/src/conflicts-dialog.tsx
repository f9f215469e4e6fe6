/**
 * A folder's conflicts, from the conflict copies in the index (made here or
 * on any device, so the list survives restarts): both versions side by side
 * with size, time and the device that wrote each, and "Keep this one", which
 * archives the other. Names come from peers: rendered as text only.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type ConflictInfo, type ConflictSideInfo } from './api.js';
import { Dialog } from './dialog.js';
import { bytes, time } from './format.js';
import { deviceWords } from './versions-dialog.js';

function Side(props: { title: string; side: ConflictSideInfo | null; busy: boolean; onKeep: () => void; testid: string }) {
  const s = props.side;
  return (
    <div class="conflict-side" data-testid={props.testid}>
      <h4>{props.title}</h4>
      {s === null ? <p class="muted small">gone</p> : (
        <>
          <p class="path small">{s.path}</p>
          <p class="small">{bytes(s.size)} · modified <time>{time(s.mtimeMs)}</time></p>
          <p class="small" data-testid="conflict-device">written by {deviceWords(s.device)}</p>
          <button type="button" class="small-btn" disabled={props.busy} data-testid="keep"
            aria-label={`Keep the ${props.title.toLowerCase()}, written by ${deviceWords(s.device)}`} onClick={props.onKeep}>Keep this one</button>
        </>
      )}
    </div>
  );
}

export function ConflictsDialog(props: { folder: string; onClose: () => void; onError: (e: unknown) => void }) {
  const [list, setList] = useState<ConflictInfo[] | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setList((await api.conflicts(props.folder)).conflicts);
    } catch (err) {
      props.onError(err);
    }
  };
  useEffect(() => { void load(); }, [props.folder]);

  const keep = async (c: ConflictInfo, which: 'copy' | 'original') => {
    setBusy(true);
    try {
      await api.keep(props.folder, c.copy.path, which);
      await load();
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Conflicts in ${props.folder}`} onClose={props.onClose} testid="conflicts-dialog" wide>
      {list === null && <p class="muted">Loading…</p>}
      {list?.length === 0 && <p class="empty" data-testid="no-conflicts">No conflicts.</p>}
      <ul class="conflicts">
        {list?.map((c) => (
          <li key={c.copy.path} class="conflict" data-testid="conflict" data-file={c.file}>
            <h3 class="path">{c.file}</h3>
            <div class="conflict-sides">
              <Side title="Version at the path" side={c.original} busy={busy} testid="conflict-original" onKeep={() => keep(c, 'original')} />
              <Side title="Conflict copy" side={c.copy} busy={busy} testid="conflict-copy" onKeep={() => keep(c, 'copy')} />
            </div>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

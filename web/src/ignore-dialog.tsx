/**
 * The `.sealignore` editor: the folder's shared ignore rules (gitignore
 * syntax), a preview of what a draft would exclude right now (the outermost
 * paths; a directory stands for what is below it), and Save, after which the
 * folder is rescanned and the file syncs to every device. Paths are text only.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type IgnorePreview } from './api.js';
import { Dialog } from './dialog.js';
import { count } from './format.js';

export function IgnoreDialog(props: { folder: string; onClose: () => void; onError: (e: unknown) => void }) {
  const [text, setText] = useState<string | null>(null);
  const [preview, setPreview] = useState<IgnorePreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api.ignoreRules(props.folder).then((r) => setText(r.text), props.onError);
  }, [props.folder]);

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    try { await what(); } catch (err) { props.onError(err); } finally { setBusy(false); }
  };

  return (
    <Dialog title={`Ignore rules of ${props.folder}`} onClose={props.onClose} testid="ignore-dialog" wide>
      <p class="muted small">One pattern per line, as in .gitignore (<code>*.tmp</code>, <code>build/</code>, <code>!keep.tmp</code>). The rules sync to every device.</p>
      <label>
        .sealignore
        <textarea class="key" rows={8} spellcheck={false} value={text ?? ''} disabled={text === null} data-testid="ignore-text"
          onInput={(e) => { setText((e.target as HTMLTextAreaElement).value); setSaved(false); }} />
      </label>
      <div class="actions">
        <button type="button" disabled={busy || text === null} data-testid="ignore-preview"
          onClick={() => run(async () => setPreview((await api.previewIgnore(props.folder, text ?? '')).preview))}>Preview</button>
        <button type="button" class="primary" disabled={busy || text === null} data-testid="ignore-save"
          onClick={() => run(async () => { await api.saveIgnore(props.folder, text ?? ''); setSaved(true); })}>Save</button>
      </div>
      {saved && <p class="notice small" role="status">Saved. The folder is being rescanned.</p>}
      {preview && (
        <div role="status" data-testid="ignore-result">
          <p class="small">{preview.excludedCount === 0 ? 'These rules exclude nothing here.' : `Excluded: ${count(preview.excludedCount, 'path')}${preview.partial ? ' at least' : ''}`}</p>
          <ul class="paths small">{preview.excluded.map((p) => <li key={p}>{p}</li>)}</ul>
        </div>
      )}
    </Dialog>
  );
}

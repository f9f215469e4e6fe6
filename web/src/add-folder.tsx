/** Add a folder: with a freshly generated key, or a pasted key / sealsync:// link. */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { Dialog } from './dialog.js';

export function AddFolderDialog(props: { onClose: () => void; onAdded: () => void }) {
  const [path, setPath] = useState('');
  const [mode, setMode] = useState<'new' | 'paste'>('new');
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const keyText = mode === 'new' ? (await api.newKey()).key : key.trim();
      await api.addFolder(path.trim(), keyText);
      props.onAdded();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <Dialog title="Add folder" onClose={props.onClose} testid="add-folder-dialog">
      <form onSubmit={submit} class="stack">
        <label>
          Folder path on this device
          <input name="path" required placeholder="/home/me/Documents" value={path} spellcheck={false}
            onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <fieldset class="choice">
          <legend>Key</legend>
          <label class="inline">
            <input type="radio" name="mode" value="new" checked={mode === 'new'} onChange={() => setMode('new')} />
            Start a new shared folder (generates a new read-write key)
          </label>
          <label class="inline">
            <input type="radio" name="mode" value="paste" checked={mode === 'paste'} onChange={() => setMode('paste')} data-testid="mode-paste" />
            Join with a key or a <code>sealsync://</code> link someone gave you
          </label>
        </fieldset>
        {mode === 'paste' && (
          <label>
            Key or link
            <textarea name="key" rows={3} required spellcheck={false} autocomplete="off" value={key}
              onInput={(e) => setKey((e.target as HTMLTextAreaElement).value)} />
          </label>
        )}
        {error && <p class="alert" role="alert" data-testid="add-folder-error">{error}</p>}
        <div class="actions">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" data-testid="add-folder-submit" disabled={busy}>{busy ? 'Adding…' : 'Add folder'}</button>
        </div>
      </form>
    </Dialog>
  );
}

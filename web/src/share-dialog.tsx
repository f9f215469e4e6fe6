/**
 * Share a folder: the keys this folder can hand out (a read-write folder can
 * derive all three), each with a QR code, a copy button and one sentence on
 * what the receiver can do. Keys are fetched only when the dialog opens and
 * shown only inside it.
 */
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { api, type FolderStatus, type ShareType } from './api.js';
import { Dialog } from './dialog.js';
import { TYPE_NAMES } from './format.js';

const DERIVABLE: Record<ShareType, ShareType[]> = {
  rw: ['rw', 'ro', 'encrypted'],
  ro: ['ro', 'encrypted'],
  encrypted: ['encrypted'],
};

const WHAT_IT_GIVES: Record<ShareType, string> = {
  rw: 'The receiver can read and change every file, and hand out the other two keys.',
  ro: 'The receiver can read every file but none of their changes are accepted by others.',
  encrypted: 'The receiver stores and serves the folder as ciphertext, without ever seeing names or contents: for a server you do not trust.',
};

interface SharedKey {
  readonly type: ShareType;
  readonly key: string;
  readonly qr: string;
}

async function qrDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

function KeyRow(props: { shared: SharedKey }) {
  const [copied, setCopied] = useState(false);
  const { type, key, qr } = props.shared;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(key);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 2000);
    } catch {
      const input = document.getElementById(`key-${type}`) as HTMLTextAreaElement | null;
      input?.select();
    }
  };
  return (
    <div class="share-key" data-testid="share-key" data-type={type}>
      <img class="qr" src={qr} alt={`QR code of the ${TYPE_NAMES[type]} key`} data-testid="share-qr" />
      <div class="share-text">
        <h3>{TYPE_NAMES[type]} key</h3>
        <p class="small">{WHAT_IT_GIVES[type]}</p>
        <textarea id={`key-${type}`} class="key" readonly rows={3} spellcheck={false} data-testid="share-key-text" value={key} />
        <button type="button" onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
      </div>
    </div>
  );
}

export function ShareDialog(props: { folder: FolderStatus; onClose: () => void }) {
  const [keys, setKeys] = useState<SharedKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const out: SharedKey[] = [];
      for (const type of DERIVABLE[props.folder.type]) {
        const { key } = await api.share(props.folder.path, type);
        out.push({ type, key, qr: await qrDataUrl(key) });
      }
      if (!cancelled) setKeys(out);
    })().catch((err: unknown) => { if (!cancelled) setError((err as Error).message); });
    return () => { cancelled = true; };
  }, [props.folder.path, props.folder.type]);

  return (
    <Dialog title={`Share ${props.folder.path}`} onClose={props.onClose} testid="share-dialog" wide>
      <p class="muted small">Anyone holding a key can join with exactly its rights. Send keys over a channel you trust.</p>
      {error && <p class="alert" role="alert">{error}</p>}
      {!keys && !error && <p class="muted">Deriving keys…</p>}
      <div class="share-list">{keys?.map((k) => <KeyRow key={k.type} shared={k} />)}</div>
    </Dialog>
  );
}

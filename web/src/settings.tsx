/**
 * Settings: device name, sync address, discovery, bandwidth, archive
 * retention, dashboard address, and the dashboard password. The name,
 * bandwidth and retention apply at once; the daemon reports the saved
 * settings it does not use yet (`restartRequired`), listed in a notice.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, type Settings } from './api.js';

interface Draft {
  name: string;
  listen: string;
  discovery: boolean;
  uiListen: string;
  https: boolean;
  retentionDays: string;
  maxSendKBps: string;
  maxRecvKBps: string;
}

function draftOf(s: Settings): Draft {
  return {
    name: s.device.name,
    listen: s.listen,
    discovery: s.discovery,
    uiListen: s.webui.listen,
    https: s.webui.https,
    retentionDays: String(s.archive.retentionDays),
    maxSendKBps: String(s.bandwidth.maxSendKBps),
    maxRecvKBps: String(s.bandwidth.maxRecvKBps),
  };
}

/** Plain names for the dotted setting names in `Settings.restartRequired`. */
const RESTART_LABELS: Readonly<Record<string, string>> = {
  listen: 'Sync address',
  discovery: 'Finding devices on the local network',
  'webui.enabled': 'Dashboard on/off',
  'webui.listen': 'Dashboard address',
  'webui.https': 'Dashboard HTTPS',
};

/** Saved settings the running daemon does not use yet; nothing when there are none. */
function RestartNotice(props: { names: readonly string[] }) {
  if (props.names.length === 0) return null;
  return (
    <div class="notice warn" role="status" data-testid="restart-notice">
      <p>Saved, but not in use until the daemon restarts (<code>sealsync stop</code>, then <code>sealsync start</code>):</p>
      <ul>
        {props.names.map((n) => <li key={n}>{RESTART_LABELS[n] ?? n}</li>)}
      </ul>
    </div>
  );
}

function wholeNumber(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${field} must be a whole number, 0 or more`);
  return n;
}

function PasswordForm(props: { passwordSet: boolean; onSaved: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) { setMessage({ ok: false, text: 'The two new passwords differ.' }); return; }
    try {
      const { csrfToken } = await api.setPassword(next, props.passwordSet ? current : undefined);
      setCsrfToken(csrfToken);
      setCurrent(''); setNext(''); setAgain('');
      setMessage({ ok: true, text: 'Password saved. Other dashboard sessions were logged out.' });
      props.onSaved();
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
  };

  return (
    <form class="card stack" onSubmit={submit}>
      <h3>Dashboard password</h3>
      <p class="muted small">{props.passwordSet ? 'A password is set.' : 'No password is set: log in with `sealsync ui` links.'} Needed to open the dashboard beyond this machine (with HTTPS).</p>
      {props.passwordSet && (
        <label>Current password
          <input type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <label>New password (at least 8 characters)
        <input type="password" autocomplete="new-password" minLength={8} required value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
      </label>
      <label>Repeat the new password
        <input type="password" autocomplete="new-password" minLength={8} required value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
      </label>
      {message && <p class={message.ok ? 'notice' : 'alert'} role="status">{message.text}</p>}
      <div class="actions"><button type="submit" class="primary">Save password</button></div>
    </form>
  );
}

export function SettingsPanel(props: { settings: Settings | null; onSaved: (s: Settings) => void; onError: (e: unknown) => void }) {
  const [draft, setDraft] = useState<Draft | null>(props.settings ? draftOf(props.settings) : null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    if (props.settings && draft === null) setDraft(draftOf(props.settings));
  }, [props.settings, draft]);

  if (!props.settings || !draft) return <p class="muted">Loading…</p>;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft({ ...draft, [k]: v });

  const save = async (e: Event) => {
    e.preventDefault();
    setMessage(null);
    try {
      const { settings } = await api.patchSettings({
        device: { name: draft.name.trim() },
        listen: draft.listen.trim(),
        discovery: draft.discovery,
        webui: { listen: draft.uiListen.trim(), https: draft.https },
        archive: { retentionDays: wholeNumber(draft.retentionDays, 'Archive retention') },
        bandwidth: { maxSendKBps: wholeNumber(draft.maxSendKBps, 'Upload limit'), maxRecvKBps: wholeNumber(draft.maxRecvKBps, 'Download limit') },
      });
      setDraft(draftOf(settings));
      setMessage({ ok: true, text: settings.restartRequired?.length ? 'Saved. Some changes need a restart (see above).' : 'Saved. Changes are in use now.' });
      props.onSaved(settings);
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
  };

  const text = (k: keyof Draft) => (e: Event) => set(k, (e.target as HTMLInputElement).value);

  return (
    <section aria-labelledby="settings-title" class="settings">
      <div class="section-head"><h2 id="settings-title">Settings</h2></div>
      <RestartNotice names={props.settings.restartRequired ?? []} />
      <form class="card stack" onSubmit={save} data-testid="settings-form">
        <label>Device name
          <input name="name" value={draft.name} maxLength={64} required onInput={text('name')} data-testid="settings-name" />
        </label>
        <label>Sync address (HOST:PORT)
          <input name="listen" value={draft.listen} spellcheck={false} onInput={text('listen')} />
        </label>
        <label class="inline">
          <input type="checkbox" data-testid="settings-discovery" checked={draft.discovery} onChange={(e) => set('discovery', (e.target as HTMLInputElement).checked)} />
          Find devices on the local network
        </label>
        <div class="row">
          <label>Upload limit (KiB/s, 0 = none)
            <input inputMode="numeric" value={draft.maxSendKBps} onInput={text('maxSendKBps')} />
          </label>
          <label>Download limit (KiB/s, 0 = none)
            <input inputMode="numeric" value={draft.maxRecvKBps} onInput={text('maxRecvKBps')} />
          </label>
        </div>
        <label>Keep replaced and deleted files for (days)
          <input inputMode="numeric" value={draft.retentionDays} onInput={text('retentionDays')} />
        </label>
        <label>Dashboard address (HOST:PORT)
          <input value={draft.uiListen} spellcheck={false} onInput={text('uiListen')} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={draft.https} onChange={(e) => set('https', (e.target as HTMLInputElement).checked)} />
          Serve the dashboard over HTTPS (required, with a password, beyond loopback)
        </label>
        {message && <p class={message.ok ? 'notice' : 'alert'} role="status" data-testid="settings-message">{message.text}</p>}
        <div class="actions"><button type="submit" class="primary" data-testid="settings-save">Save settings</button></div>
      </form>
      <PasswordForm passwordSet={props.settings.webui.passwordSet} onSaved={() => { api.settings().then((r) => props.onSaved(r.settings)).catch(props.onError); }} />
    </section>
  );
}

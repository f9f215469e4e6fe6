/**
 * "My devices": linked devices (sharing this device's keyring), encrypted
 * servers, devices waiting for approval, and invites (docs/dashboard.md, "My devices").
 *
 * The report is polled (DEVICES_POLL_MS) while the dashboard is open, so a
 * join attempt shows within seconds wherever the user is (a banner on every
 * tab, the Approve / Deny card on the Devices tab). Names, addresses and ids
 * of other devices come from them: text only, never markup. An invite code
 * is a secret: it lives only in the "Add device" dialog's state, is never
 * logged, and is gone when the dialog closes.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { api, type CreatedInvite, type DeviceRow, type DevicesReport, type InviteInfo, type PendingJoin } from './api.js';
import { ConfirmDialog, Dialog } from './dialog.js';
import { count, time } from './format.js';

export const DEVICES_POLL_MS = 2000;

export interface DevicesState {
  readonly report: DevicesReport | null;
  readonly invites: readonly InviteInfo[] | null;
  /** Why the report could not be read (the network is not running, …). */
  readonly problem: string | null;
  readonly refresh: () => Promise<void>;
}

/** Polls /api/devices and /api/devices/invites; `onError` sees a lost session. */
export function useDevices(onError: (e: unknown) => void): DevicesState {
  const [report, setReport] = useState<DevicesReport | null>(null);
  const [invites, setInvites] = useState<readonly InviteInfo[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    try {
      const [d, i] = await Promise.all([api.devices(), api.invites()]);
      setReport(d.devices);
      setInvites(i.invites);
      setProblem(null);
    } catch (err) {
      if ((err as { status?: number }).status === 401) onError(err);
      else setProblem((err as Error).message);
    }
  }, [onError]);
  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => { void refresh(); }, DEVICES_POLL_MS);
    return () => window.clearInterval(timer);
  }, [refresh]);
  return { report, invites, problem, refresh };
}

/** One line on every tab while a device waits for approval. */
export function PendingBanner(props: { pending: readonly PendingJoin[]; onShow: () => void }) {
  if (props.pending.length === 0) return null;
  const first = props.pending[0] as PendingJoin;
  const who = props.pending.length === 1 ? `“${first.name}”` : count(props.pending.length, 'device');
  return (
    <p class="notice warn pending-banner" role="status" data-testid="pending-banner">
      <span>{who} {props.pending.length === 1 ? 'waits' : 'wait'} for your approval to join.</span>
      <button type="button" class="small-btn" onClick={props.onShow}>Review</button>
    </p>
  );
}

async function qrDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

function CopyButton(props: { text: string; label: string; testid: string; fallbackId: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 2000);
    } catch {
      // No clipboard (an insecure origin, a refused permission): select the text for Ctrl+C.
      (document.getElementById(props.fallbackId) as HTMLTextAreaElement | null)?.select();
    }
  };
  return <button type="button" aria-label={props.label} data-testid={props.testid} onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>;
}

/** "Add device": choose auto-approve, make an invite, show its QR code, link and code. */
export function AddDeviceDialog(props: { onClose: () => void; onCreated: () => void }) {
  const [autoApprove, setAutoApprove] = useState(false);
  const [created, setCreated] = useState<{ invite: CreatedInvite; qr: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const invite = await api.invite(autoApprove);
      setCreated({ invite, qr: await qrDataUrl(invite.link) });
      props.onCreated();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Add a device" onClose={props.onClose} testid="add-device-dialog" wide>
      {!created && (
        <form class="stack" onSubmit={create}>
          <p class="small">
            An invite lets one new device join as yours: it gets every folder of this device, with the same keys, and the devices
            you link later. It works once, for 10 minutes. On the new device run <code>sealsync device join CODE</code>, or open the link.
          </p>
          <label class="inline">
            <input type="checkbox" checked={autoApprove} data-testid="invite-auto-approve"
              onChange={(e) => setAutoApprove((e.target as HTMLInputElement).checked)} />
            Approve the joining device automatically (otherwise it waits here for Approve)
          </label>
          <div class="actions">
            <button type="button" onClick={props.onClose}>Cancel</button>
            <button type="submit" class="primary" disabled={busy} data-testid="invite-create">Create invite</button>
          </div>
        </form>
      )}
      {error && <p class="alert" role="alert">{error}</p>}
      {created && (
        <div class="share-key invite" data-testid="invite" data-id={created.invite.invite.id}>
          <img class="qr" src={created.qr} alt="QR code of the invite link" data-testid="invite-qr" />
          <div class="share-text">
            <p class="small">
              Scan the code, or copy the link or the code to the new device. Anyone who has it can join as your device until it
              is used or expires at {time(created.invite.invite.expiresAt)}; send it only over a channel you trust.
              {created.invite.invite.autoApprove ? ' The device will be approved as soon as it joins.' : ' The device then waits for your approval on the Devices tab.'}
            </p>
            <label for="invite-code">Invite code</label>
            <textarea id="invite-code" class="key fit" readonly rows={4} spellcheck={false} data-testid="invite-code" value={created.invite.code} />
            <CopyButton text={created.invite.code} label="Copy the invite code" testid="copy-invite-code" fallbackId="invite-code" />
            <label for="invite-link">Link</label>
            <textarea id="invite-link" class="key fit" readonly rows={4} spellcheck={false} data-testid="invite-link" value={created.invite.link} />
            <CopyButton text={created.invite.link} label="Copy the invite link" testid="copy-invite-link" fallbackId="invite-link" />
            <div class="actions">
              <button type="button" class="primary" onClick={props.onClose} data-testid="invite-done">Done</button>
            </div>
          </div>
        </div>
      )}
    </Dialog>
  );
}

function PendingCard(props: { join: PendingJoin; onDecide: (approve: boolean) => void; busy: boolean }) {
  const j = props.join;
  return (
    <li class="card pending" data-testid="pending-join" data-id={j.id}>
      <div class="folder-head">
        <h4 data-testid="pending-name">{j.name}</h4>
        <span class="badge">{j.kind === 'server' ? 'as a server' : 'as your device'}</span>
      </div>
      <dl class="peer-facts small">
        <div><dt>Device id</dt><dd><code class="devid" data-testid="pending-id">{j.id}</code></dd></div>
        <div><dt>From</dt><dd><code class="devid">{j.address}</code></dd></div>
        <div><dt>Waiting since</dt><dd>{time(j.since)}</dd></div>
      </dl>
      <p class="small">Approve only a device you are setting up now: compare its device id with the one <code>sealsync status</code> shows on it.</p>
      <div class="actions">
        <button type="button" class="danger" disabled={props.busy} aria-label={`Deny ${j.name}`} data-testid="deny" onClick={() => props.onDecide(false)}>Deny</button>
        <button type="button" class="primary" disabled={props.busy} aria-label={`Approve ${j.name}`} data-testid="approve" onClick={() => props.onDecide(true)}>Approve</button>
      </div>
    </li>
  );
}

function DeviceCard(props: { device: DeviceRow; kind: 'device' | 'server'; onUnlink?: () => void }) {
  const d = props.device;
  return (
    <li class="card peer" data-testid={props.kind === 'server' ? 'server' : 'linked-device'} data-id={d.id}>
      <div class="folder-head">
        <h4 data-testid="device-row-name">{d.name}{d.self ? ' (this device)' : ''}</h4>
        {!d.self && <span class={d.connected ? 'badge ok' : 'badge'} data-testid="device-row-state">{d.connected ? 'connected' : 'not connected'}</span>}
      </div>
      <dl class="peer-facts small">
        <div><dt>Device id</dt><dd><code class="devid">{d.id}</code></dd></div>
        {d.addresses.length > 0 && <div><dt>Addresses</dt><dd><code class="devid">{d.addresses.join(', ')}</code></dd></div>}
      </dl>
      {props.onUnlink && (
        <div class="actions">
          <button type="button" class="danger small-btn" aria-label={`Unlink ${d.name}`} data-testid="unlink" onClick={props.onUnlink}>Unlink</button>
        </div>
      )}
    </li>
  );
}

const INVITE_STATE_WORDS: Record<InviteInfo['state'], string> = { pending: 'waiting', used: 'used', expired: 'expired', revoked: 'revoked' };

function InviteRow(props: { invite: InviteInfo; onRevoke: () => void }) {
  const i = props.invite;
  const what = i.kind === 'server' ? `Server invite (${count(i.folders.length, 'folder')})` : 'Device invite';
  return (
    <li class="invite-row" data-testid="invite-row" data-id={i.id} data-state={i.state}>
      <span>
        <strong>{what}</strong> <code class="devid">{i.id}</code>
        <span class="muted small"> · {INVITE_STATE_WORDS[i.state]}{i.state === 'pending' ? ` until ${time(i.expiresAt)}` : ''}{i.autoApprove ? ' · approved automatically' : ''}</span>
      </span>
      {i.state === 'pending' && (
        <button type="button" class="danger small-btn" aria-label={`Revoke invite ${i.id}`} data-testid="revoke-invite" onClick={props.onRevoke}>Revoke</button>
      )}
    </li>
  );
}

/** The "My devices" part of the Devices tab. */
export function MyDevices(props: { state: DevicesState; onError: (e: unknown) => void }) {
  const { report, invites, problem, refresh } = props.state;
  const [adding, setAdding] = useState(false);
  const [unlinking, setUnlinking] = useState<DeviceRow | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (err) {
      if ((err as { status?: number }).status === 401) props.onError(err);
      else setError((err as Error).message);
    } finally {
      setBusy(false);
      void refresh();
    }
  };

  const confirmUnlink = () => act(async () => {
    if (!unlinking) return;
    await api.unlink(unlinking.id);
    setUnlinking(null);
  });

  const others = report?.devices.filter((d) => !d.self) ?? [];
  const open = invites?.filter((i) => i.state === 'pending') ?? [];
  const past = invites?.filter((i) => i.state !== 'pending') ?? [];
  return (
    <section aria-labelledby="my-devices-title" class="my-devices">
      <div class="section-head">
        <h2 id="my-devices-title">My devices</h2>
        <button type="button" class="primary" data-testid="add-device" onClick={() => setAdding(true)}>Add device</button>
      </div>
      {problem && <p class="alert" role="alert">{problem}</p>}
      {error && <p class="alert" role="alert">{error}</p>}
      <div aria-live="polite">
        {report && report.pending.length > 0 && (
          <section aria-labelledby="pending-title" class="subsection">
            <h3 id="pending-title">Waiting for approval</h3>
            <ul class="grid peer-cards" data-testid="pending-list">
              {report.pending.map((j) => <PendingCard key={j.id} join={j} busy={busy} onDecide={(ok) => act(() => api.decide(j.id, ok))} />)}
            </ul>
          </section>
        )}
      </div>
      {report === null && !problem && <p class="muted">Loading…</p>}
      {report && (
        <section aria-labelledby="linked-title" class="subsection">
          <h3 id="linked-title">Linked devices</h3>
          <p class="muted small">
            Linked devices share this device&#39;s keyring: every folder key and every peer they know, so a folder added on one appears on all.
            {others.length === 0 ? ' None yet: use “Add device” to link one.' : ''}
          </p>
          <ul class="grid peer-cards" data-testid="linked-list" aria-label="Linked devices">
            {report.devices.map((d) => <DeviceCard key={d.id} device={d} kind="device" {...(d.self ? {} : { onUnlink: () => setUnlinking(d) })} />)}
          </ul>
        </section>
      )}
      {report && (
        <section aria-labelledby="servers-title" class="subsection">
          <h3 id="servers-title">Servers</h3>
          <p class="muted small" data-testid="servers-why">
            A server is never linked: it holds only the encrypted keys of the folders you chose for it, so it stores and serves them
            without ever seeing a name or a byte of content, and it never gets the keyring or a key that reads files. Invite one
            with <code>sealsync device invite --server PATH</code>.
          </p>
          {report.servers.length > 0 && (
            <ul class="grid peer-cards" data-testid="server-list" aria-label="Servers">
              {report.servers.map((d) => <DeviceCard key={d.id} device={d} kind="server" />)}
            </ul>
          )}
        </section>
      )}
      {invites && invites.length > 0 && (
        <section aria-labelledby="invites-title" class="subsection">
          <h3 id="invites-title">Invites</h3>
          <ul class="invite-list" data-testid="invite-list">
            {[...open, ...past].map((i) => <InviteRow key={i.id} invite={i} onRevoke={() => act(() => api.revokeInvite(i.id))} />)}
          </ul>
        </section>
      )}
      {report && report.unlinked.length > 0 && (
        <p class="muted small" data-testid="unlinked">Unlinked, refused from now on: {report.unlinked.map((id) => <code key={id} class="devid">{id} </code>)}</p>
      )}
      {adding && <AddDeviceDialog onClose={() => setAdding(false)} onCreated={() => { void refresh(); }} />}
      {unlinking && (
        <ConfirmDialog title={`Unlink ${unlinking.name}?`} confirm="Unlink" busy={busy} testid="unlink-dialog" confirmTestid="confirm-unlink"
          onConfirm={confirmUnlink} onCancel={() => setUnlinking(null)}>
          <p>
            The keyring is rotated and <strong>{unlinking.name}</strong> is refused from now on, so folders added later no longer reach it.
            The keys it already holds are not taken back: to keep it out of a folder, give that folder a new key.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

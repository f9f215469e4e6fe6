/** Known devices: name, device id, address, connection, live rates and totals; add and remove. */
import { useState } from 'preact/hooks';
import { api, type PeerStatus } from './api.js';
import { bytes, peerStateWords, rate, time } from './format.js';

export function Peers(props: { peers: readonly PeerStatus[] | null; listen: readonly string[]; onChange: () => void; onError: (e: unknown) => void }) {
  const [address, setAddress] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.addPeer(address.trim());
      setAddress('');
      props.onChange();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (peer: PeerStatus) => {
    try {
      await api.removePeer(peer.address);
      props.onChange();
    } catch (err) {
      props.onError(err);
    }
  };

  return (
    <section aria-labelledby="peers-title">
      <div class="section-head">
        <h2 id="peers-title">Folder peers</h2>
      </div>
      <p class="muted small">Every device this one syncs folders with: typed addresses, devices found on the local network, linked devices and servers.
        This device listens on {props.listen.length > 0 ? props.listen.join(', ') : '…'}.</p>
      {props.peers === null && <p class="muted">Loading…</p>}
      {props.peers?.length === 0 && <p class="empty">No known devices yet. Add one by address, or let discovery find them on your network.</p>}
      {/* Cards, not a table: every field stays readable at phone width. Names, addresses and reasons come from peers: text only. */}
      {props.peers && props.peers.length > 0 && (
        <ul class="grid peer-cards" data-testid="peer-list" aria-label="Known devices">
          {props.peers.map((p) => (
            <li key={p.address} class="card peer" data-testid="peer">
              <div class="folder-head">
                <h3 data-testid="peer-name">{p.name ?? <span class="muted">unknown</span>}</h3>
                <span class={p.problem ? 'badge' : 'badge ok'} data-testid="peer-state">{p.connected ? 'connected' : 'not connected'}</span>
              </div>
              {p.problem && <p class="muted small" data-testid="peer-problem">{peerStateWords(p, Date.now())}</p>}
              <dl class="peer-facts small">
                <div><dt>Device id</dt><dd><code class="devid">{p.id ?? '–'}</code></dd></div>
                <div><dt>Address</dt><dd><code class="devid">{p.address}</code></dd></div>
                <div><dt>Receiving</dt><dd>{rate(p.inRate)} · {bytes(p.inBytes)} total</dd></div>
                <div><dt>Sending</dt><dd>{rate(p.outRate)} · {bytes(p.outBytes)} total</dd></div>
                <div><dt>Folders shared now</dt><dd>{p.folders && p.folders.length > 0 ? p.folders.join(', ') : p.sharedFolders}</dd></div>
                <div><dt>Last seen</dt><dd data-testid="peer-last-seen">{p.connected ? 'now' : p.lastSeenAt ? time(p.lastSeenAt) : 'never'}</dd></div>
                {p.problem?.lastAttemptAt ? <div><dt>Last tried</dt><dd>{time(p.problem.lastAttemptAt)}</dd></div> : null}
              </dl>
              <div class="actions">
                <button type="button" class="danger small-btn" aria-label={`Remove device ${p.name ?? p.address}`} onClick={() => remove(p)}>Remove</button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={add}>
        <label>
          Add a device by address
          <input required placeholder="tcp://192.168.1.20:22000" value={address} spellcheck={false}
            onInput={(e) => setAddress((e.target as HTMLInputElement).value)} data-testid="peer-address" />
        </label>
        <button type="submit" class="primary" disabled={busy}>Add</button>
      </form>
      {error && <p class="alert" role="alert">{error}</p>}
    </section>
  );
}

/** Known devices: name, device id, address, connection, live rates and totals; add and remove. */
import { useState } from 'preact/hooks';
import { api, type PeerStatus } from './api.js';
import { bytes, peerStateWords, rate } from './format.js';

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
        <h2 id="peers-title">Devices</h2>
      </div>
      <p class="muted small">This device listens on {props.listen.length > 0 ? props.listen.join(', ') : '…'}.</p>
      {props.peers === null && <p class="muted">Loading…</p>}
      {props.peers?.length === 0 && <p class="empty">No known devices yet. Add one by address, or let discovery find them on your network.</p>}
      <div class="table-wrap">
        {props.peers && props.peers.length > 0 && (
          <table class="peers" data-testid="peer-list">
            <thead>
              <tr><th>Name</th><th>Device id</th><th>Address</th><th>Status</th><th>In</th><th>Out</th><th /></tr>
            </thead>
            <tbody>
              {props.peers.map((p) => (
                <tr key={p.address} data-testid="peer">
                  <td data-testid="peer-name">{p.name ?? <span class="muted">unknown</span>}</td>
                  <td><code class="devid">{p.id ?? '–'}</code></td>
                  <td><code>{p.address}</code></td>
                  <td>
                    <span class={p.problem ? 'badge' : 'badge ok'} data-testid="peer-state">{p.connected ? 'connected' : 'not connected'}</span>
                    {/* The message may quote a peer's words: rendered as text only. */}
                    {p.problem && <><br /><span class="muted small" data-testid="peer-problem">{peerStateWords(p, Date.now())}</span></>}
                  </td>
                  <td>{rate(p.inRate)}<br /><span class="muted small">{bytes(p.inBytes)} total</span></td>
                  <td>{rate(p.outRate)}<br /><span class="muted small">{bytes(p.outBytes)} total</span></td>
                  <td><button type="button" class="danger small-btn" onClick={() => remove(p)}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
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

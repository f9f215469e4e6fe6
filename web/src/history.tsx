/**
 * Recent events, newest first, as plain text (peer-supplied names are never
 * markup). File changes say whether this device or a peer made them; the
 * origin also colours the row (class `from-local` / `from-peer`).
 */
import type { DaemonEvent } from './api.js';
import { describeEvent, time } from './format.js';

function rowClass(e: DaemonEvent): string {
  const origin = e.type === 'file-changed' ? ` from-${e.source}` : '';
  return `event ev-${e.type}${origin}`;
}

export function History(props: { events: readonly DaemonEvent[] }) {
  return (
    <section aria-labelledby="history-title">
      <div class="section-head"><h2 id="history-title">History</h2></div>
      {props.events.length === 0 && <p class="empty">Nothing has happened yet.</p>}
      <ol class="history" data-testid="history">
        {props.events.map((e) => (
          <li key={e.seq} class={rowClass(e)} data-type={e.type}>
            <time>{time(e.time)}</time>
            <span class="ev-text">{describeEvent(e)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

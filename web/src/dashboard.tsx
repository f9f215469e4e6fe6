/**
 * The dashboard: status from GET /api/status, refreshed on every event from
 * the SSE stream (/api/events) and every few seconds for transfer rates.
 * No session -> back to /login.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken, type DaemonEvent, type PeerStatus, type Settings, type StatusReport } from './api.js';
import { count, keepInHistory } from './format.js';
import { Folders } from './folders.js';
import { Peers } from './peers.js';
import { History } from './history.js';
import { SettingsPanel } from './settings.js';
import { MyDevices, PendingBanner, useDevices } from './devices.js';

export const STATUS_POLL_MS = 3000;
export const MAX_HISTORY = 200;
const EVENT_TYPES = ['folder-status', 'folder-changed', 'peer-connected', 'peer-disconnected', 'error', 'file-changed', 'conflict', 'archive-pruned'];

type Tab = 'folders' | 'peers' | 'history' | 'settings';

/** The top bar's one-line answer to "am I connected to anyone?". */
function peerSummary(peers: readonly PeerStatus[]): string {
  if (peers.length === 0) return 'no devices added';
  const connected = peers.filter((p) => p.connected).length;
  return connected === peers.length ? `${count(connected, 'device')} connected` : `${connected} of ${count(peers.length, 'device')} connected`;
}

export function Dashboard() {
  const [status, setStatus] = useState<StatusReport | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [events, setEvents] = useState<DaemonEvent[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [tab, setTab] = useState<Tab>('folders');
  const refreshTimer = useRef<number | null>(null);
  const lastStatusError = useRef(new Map<string, string>());

  const onApiError = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.status === 401) {
      location.replace('/login');
      return;
    }
    setProblem(err instanceof Error ? err.message : String(err));
  }, []);

  const devices = useDevices(onApiError);

  const refresh = useCallback(async () => {
    try {
      setStatus(await api.status());
      setProblem(null);
    } catch (err) {
      onApiError(err);
    }
  }, [onApiError]);

  const refreshSettings = useCallback(async () => {
    try {
      setSettings((await api.settings()).settings);
    } catch (err) {
      onApiError(err);
    }
  }, [onApiError]);

  // Many events can arrive at once (a sync): refresh once per burst.
  const scheduleRefresh = useCallback(() => {
    if (refreshTimer.current !== null) return;
    refreshTimer.current = window.setTimeout(() => {
      refreshTimer.current = null;
      void refresh();
    }, 250);
  }, [refresh]);

  useEffect(() => {
    let closed = false;
    let source: EventSource | null = null;
    api.session().then((s) => {
      if (closed) return;
      if (!s.csrfToken) { location.replace('/login'); return; }
      setCsrfToken(s.csrfToken);
      void refresh();
      void refreshSettings();
      // The log survives restarts: what happened before this page (or the daemon) started.
      api.eventLog(MAX_HISTORY).then(({ events: logged }) => {
        const kept = logged.filter((e) => keepInHistory(e, lastStatusError.current)).reverse();
        setEvents((old) => [...old, ...kept.filter((e) => !old.some((o) => o.seq === e.seq))].sort((x, y) => y.seq - x.seq).slice(0, MAX_HISTORY));
      }).catch(onApiError);
      source = new EventSource('/api/events');
      source.onopen = () => setLive(true);
      source.onerror = () => setLive(false);
      const onEvent = (msg: MessageEvent<string>) => {
        let event: DaemonEvent;
        try {
          event = JSON.parse(msg.data) as DaemonEvent;
        } catch {
          return;
        }
        scheduleRefresh();
        if (!keepInHistory(event, lastStatusError.current)) return;
        setEvents((old) => (old.some((e) => e.seq === event.seq) ? old : [event, ...old].slice(0, MAX_HISTORY)));
      };
      for (const type of EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    }).catch(onApiError);
    const poll = window.setInterval(() => { void refresh(); }, STATUS_POLL_MS);
    return () => {
      closed = true;
      source?.close();
      window.clearInterval(poll);
      if (refreshTimer.current !== null) window.clearTimeout(refreshTimer.current);
    };
  }, [refresh, refreshSettings, scheduleRefresh, onApiError]);

  const logout = async () => {
    try {
      await api.logout();
    } finally {
      location.replace('/login');
    }
  };

  const tabs: { id: Tab; label: string }[] = [
    { id: 'folders', label: 'Folders' },
    { id: 'peers', label: 'Devices' },
    { id: 'history', label: 'History' },
    { id: 'settings', label: 'Settings' },
  ];

  return (
    <div class="shell">
      <header class="topbar">
        <div class="identity">
          <span class="brand">sealsync</span>
          <span class="device-name" data-testid="device-name">{status?.device.name ?? '…'}</span>
          <span class={live ? 'live on' : 'live'} title={live ? 'live updates on' : 'reconnecting'}>{live ? 'live' : 'offline'}</span>
        </div>
        <nav class="tabs" aria-label="Sections">
          {tabs.map((t) => (
            <button type="button" key={t.id} class={tab === t.id ? 'tab active' : 'tab'} aria-current={tab === t.id ? 'page' : undefined}
              data-testid={`tab-${t.id}`} onClick={() => setTab(t.id)}>{t.label}</button>
          ))}
        </nav>
        <button type="button" class="ghost" data-testid="logout" onClick={logout}>Log out</button>
      </header>
      {status && (
        <p class="device-id">
          <span title="This device's id: give it to peers that want to pin it">Device id <code>{status.device.id}</code></span>
          <button type="button" class={status.peers.some((p) => p.connected) ? 'peer-summary on' : 'peer-summary'}
            data-testid="peer-summary" title="Show devices" onClick={() => setTab('peers')}>{peerSummary(status.peers)}</button>
        </p>
      )}
      {problem && <p class="alert" role="alert">{problem}</p>}
      {tab !== 'peers' && <PendingBanner pending={devices.report?.pending ?? []} onShow={() => setTab('peers')} />}
      <main class="content">
        {tab === 'folders' && <Folders folders={status?.folders ?? null} peers={status?.peers ?? []} onChange={refresh} onError={onApiError} />}
        {tab === 'peers' && <MyDevices state={devices} onError={onApiError} />}
        {tab === 'peers' && <Peers peers={status?.peers ?? null} listen={status?.device.listen ?? []} onChange={refresh} onError={onApiError} />}
        {tab === 'history' && <History events={events} />}
        {tab === 'settings' && <SettingsPanel settings={settings} onSaved={(s) => { setSettings(s); void refresh(); }} onError={onApiError} />}
      </main>
    </div>
  );
}

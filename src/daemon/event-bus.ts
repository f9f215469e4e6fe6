/**
 * The daemon's event bus: folder engines, the network and the daemon emit
 * events; the REST /api/events stream and tests subscribe. Keeps a bounded
 * ring of recent events so a new subscriber (the dashboard after a reload)
 * sees what just happened. A throwing listener never breaks the emitter.
 */
import { SealsyncError } from '../errors.js';
import type { DaemonEvent, DaemonEventBody, EventListener, EventSource } from './daemon-types.js';

export const MAX_RECENT_EVENTS = 200;
export const MAX_LISTENERS = 100;

/** Where events are kept across restarts (index.db's event log, src/index/history-store.ts). */
export interface EventLogStore {
  lastEventSeq(): number;
  appendEvent(seq: number, timeMs: number, json: string): void;
}

export class EventBus implements EventSource {
  private log: EventLogStore | null = null;
  private readonly listeners = new Set<EventListener>();
  private readonly ring: DaemonEvent[] = [];
  private seq = 0;

  constructor(private readonly now: () => number = Date.now, private readonly onListenerError?: (err: unknown) => void) {}

  /**
   * Keeps every event but status ticks in `log` from now on; numbering goes
   * on after the log's last event, so seq stays unique across restarts.
   */
  attachLog(log: EventLogStore | null): void {
    this.log = log;
    if (log) this.seq = Math.max(this.seq, log.lastEventSeq());
  }

  emit(body: DaemonEventBody): DaemonEvent {
    const event = { ...body, seq: ++this.seq, time: this.now() } as DaemonEvent;
    if (event.type !== 'folder-status' && this.log) {
      try { this.log.appendEvent(event.seq, event.time, JSON.stringify(event)); } catch (err) { this.onListenerError?.(err); }
    }
    if (event.type === 'folder-status') {
      // Status ticks arrive every few hundred ms per folder: keep only the latest
      // per folder, so they never push meaningful events out of the ring.
      const path = event.folder.path;
      const i = this.ring.findIndex((e) => e.type === 'folder-status' && e.folder.path === path);
      if (i >= 0) this.ring.splice(i, 1);
    }
    this.ring.push(event);
    if (this.ring.length > MAX_RECENT_EVENTS) this.ring.splice(0, this.ring.length - MAX_RECENT_EVENTS);
    for (const l of [...this.listeners]) {
      try { l(event); } catch (err) { this.onListenerError?.(err); }
    }
    return event;
  }

  subscribe(listener: EventListener): () => void {
    if (this.listeners.size >= MAX_LISTENERS) throw new SealsyncError('ERR_INTERNAL', 'too many event subscribers');
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  recent(): readonly DaemonEvent[] {
    return [...this.ring];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}

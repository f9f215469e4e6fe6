/**
 * `sealsync events [--follow] [--json]`: the daemon's event log, which
 * survives restarts (index.db, bounded). `--follow` keeps printing new
 * events until interrupted, polling the log.
 */
import type { Command } from 'commander';
import type { DaemonEvent } from '../../api/daemon-api.js';
import { SealsyncError } from '../../errors.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';
import { formatBytes, printable } from './status.js';

export const FOLLOW_POLL_MS = 1000;

/** One line per event: time, type and what happened, peer-given text made printable. */
export function eventLine(e: DaemonEvent): string {
  const at = new Date(e.time).toISOString();
  const what = ((): string => {
    switch (e.type) {
      case 'folder-changed': return `${e.path} ${e.change}`;
      case 'peer-connected': case 'peer-disconnected': return `${e.peer.name ?? '-'} ${e.peer.address}`;
      case 'error': return `${e.folder ?? ''} ${e.error.code}: ${e.error.message}`;
      case 'file-changed': return `${e.folder}: ${e.file} ${e.action} (${e.source === 'local' ? 'this device' : 'a peer'})`;
      case 'conflict': return `${e.folder}: ${e.file} conflict, the other version kept as ${e.conflictFile}`;
      case 'folder-status': return `${e.folder.path} ${e.folder.state}`;
      case 'archive-pruned': return `${e.folder}: ${e.removed} old version(s) up to ${e.newestRemoved} removed from the archive (${e.reason === 'disk-space' ? 'the disk needed the space' : 'over its size bound'}), ${formatBytes(e.freedBytes)} freed`;
    }
  })();
  return printable(`${at} #${e.seq} ${e.type} ${what}`);
}

export function registerEventsCommand(program: Command, io: CliIo): void {
  program.command('events')
    .description('print the event log (kept across restarts); --follow keeps printing new events')
    .option('--follow', 'keep printing new events until interrupted')
    .option('--json', 'one JSON document per line')
    .option('--limit <n>', 'how many of the newest events to print first', '100')
    .action(async (flags: { follow?: boolean; json?: boolean; limit: string }, cmd: Command) => {
      if (!/^\d{1,4}$/.test(flags.limit) || Number(flags.limit) < 1 || Number(flags.limit) > 1000) {
        throw new SealsyncError('ERR_INVALID_ARGUMENT', '--limit must be a whole number from 1 to 1000');
      }
      const client = clientOf(cmd);
      const print = (e: DaemonEvent): void => io.stdout(`${flags.json ? JSON.stringify(e) : eventLine(e)}\n`);
      let { events } = await client.request<{ events: DaemonEvent[] }>('GET', `/api/events/log?limit=${flags.limit}`);
      let last = 0;
      for (const e of events) { print(e); last = e.seq; }
      if (!flags.follow) return;
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        while (!stop.signal.aborted) {
          await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
          ({ events } = await client.request<{ events: DaemonEvent[] }>('GET', `/api/events/log?after=${last}&limit=1000`));
          for (const e of events) { print(e); last = e.seq; }
        }
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
    });
}

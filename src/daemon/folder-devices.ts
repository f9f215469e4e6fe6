/**
 * The per-folder parts of a status the daemon adds to what an engine knows:
 * which connected devices share the folder and how far each is (their own
 * Progress reports, engine/peer/peer-progress.ts), and the counts a paused
 * folder shows (those it had when it was paused: nothing is scanned or
 * received while paused, so they are still what this device knows it needs).
 */
import type { PeerFolderProgress } from '../engine/peer/peer-progress.js';
import type { FolderDevice, FolderStatus } from '../engine/peer/status-schema.js';
import type { FolderConfig } from './config-schema.js';

type PausedCounts = NonNullable<FolderConfig['pausedCounts']>;

/** Joined devices, sorted by name then id, with their reported progress (null until the first report). */
export function folderDevices(
  joined: ReadonlySet<string>,
  reports: ReadonlyMap<string, PeerFolderProgress>,
  nameOf: (id: string) => string | null,
): FolderDevice[] {
  const out = [...joined].map((id): FolderDevice => {
    const r = reports.get(id);
    return {
      id,
      name: nameOf(id),
      percent: r?.percent ?? null,
      needFiles: r?.needFiles ?? null,
      needBytes: r?.needBytes ?? null,
      reportedAt: r?.at ?? null,
    };
  });
  return out.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
}

/** The counts `folder pause` keeps in the config, from the status the folder had. */
export function pausedCountsOf(s: FolderStatus): PausedCounts {
  return {
    localFiles: s.localFiles, localBytes: s.localBytes, globalFiles: s.globalFiles,
    globalBytes: s.globalBytes, needFiles: s.needFiles, needBytes: s.needBytes,
  };
}

/** The daemon's folders as others see them: the network (which it may offer peers) and the API (FolderInfo). */
import { toHex } from '../crypto/bytes.js';
import type { FolderKeys } from '../crypto/keys.js';
import type { FolderDirectory } from '../net/session.js';
import type { FolderConfig } from './config-schema.js';
import type { FolderInfo } from './daemon-types.js';

/** A running folder as `GET /api/folders` lists it (never its key). */
export function folderInfoOf(f: { readonly config: FolderConfig; readonly keys: FolderKeys; readonly folderId: string }): FolderInfo {
  return {
    path: f.config.path,
    type: f.keys.type,
    folderId: f.folderId,
    rescanIntervalS: f.config.rescanIntervalS,
    watch: f.config.watch,
    paused: f.config.paused ?? false,
    retention: { retentionDays: f.config.archive?.retentionDays ?? null, maxMiB: f.config.archive?.maxMiB ?? 0 },
  };
}

/** The folders the network may offer peers: those running and bound to the sessions (routed), by folder id. */
export function routedFolderDirectory(folders: () => Iterable<{ readonly keys: FolderKeys; readonly routed: boolean }>): FolderDirectory {
  return {
    lookup: (folderId) => {
      const hexId = toHex(folderId);
      for (const f of folders()) {
        if (f.routed && toHex(f.keys.folderId) === hexId) {
          // Full peers hold R: they prove it and check the peer's proof (plaintext blocks between readers).
          return f.keys.readProofKey ? { accessSecret: f.keys.accessSecret, readProofKey: f.keys.readProofKey } : { accessSecret: f.keys.accessSecret };
        }
      }
      return undefined;
    },
    folderIds: () => [...folders()].filter((f) => f.routed).map((f) => f.keys.folderId),
  };
}

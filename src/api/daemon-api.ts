/**
 * The interface the REST routes (src/api/routes.ts) call. The daemon
 * (src/daemon/daemon.ts) implements it; tests and the dashboard can use a fake.
 * The data shapes live in src/daemon/daemon-types.ts and are re-exported here.
 *
 * Nothing returned here ever contains a folder key or the dashboard password
 * hash, except `shareFolder`, whose whole point is to hand a key to the user.
 */
import type {
  AddFolderRequest, EventSource, FolderGcReport, FolderStatus, FolderInfo, FolderVerifyReport, OpOptions, PeerStatus, Settings, SettingsPatch, ShareType,
  StatusReport,
} from '../daemon/daemon-types.js';

import type { DevicesApi } from '../daemon/devices/device-types.js';

export type * from '../daemon/daemon-types.js';
export type * from '../daemon/devices/device-types.js';
export { STATUS_SCHEMA_VERSION } from '../daemon/daemon-types.js';

export interface DaemonApi {
  status(): StatusReport;
  listFolders(): readonly FolderInfo[];
  addFolder(req: AddFolderRequest, opts?: OpOptions): Promise<FolderInfo>;
  removeFolder(path: string, opts?: OpOptions): Promise<void>;
  /** Derives and returns the key text of `type` for the folder (ERR_KEY_DERIVE upward). */
  shareFolder(path: string, type: ShareType): string;
  listPeers(): readonly PeerStatus[];
  addPeer(address: string, opts?: OpOptions): Promise<PeerStatus>;
  removePeer(idOrAddress: string, opts?: OpOptions): Promise<void>;
  getSettings(): Settings;
  patchSettings(patch: SettingsPatch, opts?: OpOptions): Promise<Settings>;
  readonly events: EventSource;
  /** Asks the daemon to shut down after the current response is sent. */
  requestStop(): void;
  /** Encrypted folders: garbage-collect now (ERR_FOLDER_TYPE for others). Optional so fakes need not have it. */
  gcFolder?(path: string, opts?: OpOptions & { retentionDays?: number }): Promise<FolderGcReport>;
  /** Encrypted folders: re-hash every stored block now. */
  verifyFolder?(path: string, opts?: OpOptions): Promise<FolderVerifyReport>;
  /** rw/ro folders: scan the whole folder now (ERR_FOLDER_TYPE for encrypted ones); with `wait`, resolves once it has finished. */
  rescanFolder?(path: string, opts?: OpOptions & { wait?: boolean }): Promise<FolderStatus>;
  /** Read-only folders: undo local edits (restore the global state). */
  revertFolder?(path: string, opts?: OpOptions): Promise<void>;
  /** My devices (src/daemon/devices/): invites, joins, approval, unlinking; optional so fakes need not have them. */
  devicesApi?(): DevicesApi;
}

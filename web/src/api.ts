/**
 * The dashboard's client for the daemon's REST API. Same origin, session
 * cookie sent by the browser; every state-changing request carries the
 * session's CSRF token in `X-CSRF-Token`.
 */
import type {
  ConflictInfo, CreatedInvite, DaemonEvent, DevicesReport, InviteInfo, FileVersionsInfo, FolderInfo, IgnorePreview, PeerStatus, Settings, SettingsPatch, ShareType, StatusReport,
} from '../../src/api/daemon-api.js';

export type { CreatedInvite, DeviceRow, DevicesReport, InviteInfo, PendingJoin } from '../../src/api/daemon-api.js';
export type { IgnorePreview, ConflictInfo, ConflictSideInfo, DeviceRef, FileVersionsInfo, DaemonEvent, FolderInfo, PeerStatus, Settings, SettingsPatch, ShareType, StatusReport } from '../../src/api/daemon-api.js';
export type { FolderStatus } from '../../src/engine/peer/folder-status.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? 'ERR_HTTP', err?.message ?? `request failed (HTTP ${res.status})`);
  }
  return json as T;
}

export interface SessionInfo {
  readonly csrfToken?: string;
  readonly passwordSet: boolean;
  readonly https: boolean;
}

export const api = {
  session: () => call<SessionInfo>('GET', '/api/session'),
  login: (cred: { token: string } | { password: string }) => call<{ csrfToken: string }>('POST', '/api/login', cred),
  logout: () => call<{ ok: true }>('POST', '/api/logout', {}),
  status: () => call<StatusReport>('GET', '/api/status'),
  folders: () => call<{ folders: FolderInfo[] }>('GET', '/api/folders'),
  newKey: () => call<{ key: string }>('POST', '/api/keys/new', {}),
  addFolder: (path: string, key: string) => call<{ folder: FolderInfo }>('POST', '/api/folders', { path, key }),
  removeFolder: (path: string) => call<{ ok: true }>('DELETE', '/api/folders', { path }),
  share: (path: string, type: ShareType) => call<{ key: string }>('POST', '/api/folders/share', { path, type }),
  addPeer: (address: string) => call<{ peer: PeerStatus }>('POST', '/api/peers', { address }),
  removePeer: (peer: string) => call<{ ok: true }>('DELETE', '/api/peers', { peer }),
  settings: () => call<{ settings: Settings }>('GET', '/api/settings'),
  patchSettings: (patch: SettingsPatch) => call<{ settings: Settings }>('PATCH', '/api/settings', patch),
  versions: (path: string) => call<{ files: FileVersionsInfo[] }>('GET', `/api/folders/versions?${new URLSearchParams({ path })}`),
  restore: (path: string, file: string, version?: string) =>
    call<{ restored: string[] }>('POST', '/api/folders/restore', version === undefined ? { path, file } : { path, file, version }),
  conflicts: (path: string) => call<{ conflicts: ConflictInfo[] }>('GET', `/api/folders/conflicts?${new URLSearchParams({ path })}`),
  keep: (path: string, copy: string, keep: 'copy' | 'original') => call<{ ok: true }>('POST', '/api/folders/conflicts/keep', { path, copy, keep }),
  rescan: (path: string) => call<{ folder: unknown }>('POST', '/api/folders/rescan', { path }),
  pause: (path: string, paused: boolean) => call<{ folder: unknown }>('POST', '/api/folders/pause', { path, paused }),
  ignoreRules: (path: string) => call<{ text: string }>('GET', `/api/folders/ignore?${new URLSearchParams({ path })}`),
  previewIgnore: (path: string, text: string) => call<{ preview: IgnorePreview }>('POST', '/api/folders/ignore/preview', { path, text }),
  saveIgnore: (path: string, text: string) => call<{ ok: true }>('POST', '/api/folders/ignore', { path, text }),
  setRetention: (path: string, retentionDays: number | null, maxMiB: number) =>
    call<{ folder: FolderInfo }>('PATCH', '/api/folders/retention', { path, retentionDays, maxMiB }),
  eventLog: (limit: number) => call<{ events: DaemonEvent[] }>('GET', `/api/events/log?limit=${limit}`),
  devices: () => call<{ devices: DevicesReport }>('GET', '/api/devices'),
  invites: () => call<{ invites: InviteInfo[] }>('GET', '/api/devices/invites'),
  /** The answer holds the invite code: a secret, shown once and kept only in the dialog. */
  invite: (autoApprove: boolean) => call<CreatedInvite>('POST', '/api/devices/invite', { autoApprove }),
  revokeInvite: (id: string) => call<{ invite: InviteInfo }>('DELETE', '/api/devices/invites', { id }),
  decide: (id: string, approve: boolean) => call<{ ok: true }>('POST', '/api/devices/approve', { id, approve }),
  unlink: (id: string) => call<{ ok: true }>('POST', '/api/devices/unlink', { id }),
  setPassword: (password: string, current?: string) =>
    call<{ csrfToken: string }>('POST', '/api/password', current === undefined ? { password } : { password, current }),
};

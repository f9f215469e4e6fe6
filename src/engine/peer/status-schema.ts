/**
 * The status schema: the one definition of what `sealsync status --json`,
 * GET /api/status, the event bus's folder-status events and the dashboard
 * report about folders and peers. The TypeScript types are inferred from the
 * zod schemas below, so the shape and its check cannot drift apart;
 * docs/daemon.md lists every state and field.
 *
 * Versioning: STATUS_SCHEMA_VERSION goes up by one whenever a field is
 * removed, renamed, or changes meaning, or a new state is added. Adding an
 * optional field does not change the version (readers must ignore fields they
 * do not know). Later issues extend the schema here, nowhere else.
 *
 * Truth rules (enforced by folderSyncState in folder-truth.ts, checked by the
 * schema test):
 * - `idle` means up to date: needFiles 0, nothing parked, no error, and a
 *   device that shares the folder is connected or was seen since the folder's
 *   last change.
 * - `needFiles`/`needBytes` count what the folder still wants, parked paths
 *   included; `parked` lists those that wait for a retry, each with its real
 *   path and the reason.
 */
import { z } from 'zod';

/** Version of the status report's shape (see the header for when it changes). */
export const STATUS_SCHEMA_VERSION = 2;
/** Parked paths listed per folder (`parkedCount` has the full number). */
export const MAX_PARKED_REPORTED = 100;

export const folderTypeSchema = z.enum(['rw', 'ro', 'encrypted']);

/**
 * - scanning: reading the disk (first scan, rescan, watcher hints).
 * - syncing: receiving files (full peers) or blocks (encrypted peers).
 * - idle: up to date (see the truth rules above).
 * - waiting: something is needed or parked that no connected device can give
 *   now; `notice` says why and `parked` lists the paths.
 * - unshared: nothing needed as far as this device knows, but no device that
 *   shares the folder is connected, and none was seen since the folder last
 *   changed (never connected, a wrong key, all peers away): `notice` says which.
 * - error: the folder stopped (e.g. its root or marker vanished); `error` and
 *   `errorCode` say why. Nothing is sent or applied until it is fixed.
 */
export const folderStateSchema = z.enum(['scanning', 'syncing', 'idle', 'waiting', 'unshared', 'error']);

export const scanProgressSchema = z.object({
  files: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  /** Bytes per second over the current scan. */
  rate: z.number().nonnegative(),
}).strict();

/** A path the puller could not sync yet and will try again. */
export const parkedPathSchema = z.object({
  /** Folder-relative path (never empty). Plain data from a peer: show it as text. */
  path: z.string().min(1),
  /** Plain-words reason of the last failure. */
  reason: z.string().min(1),
  /** Failed attempts so far. */
  attempts: z.number().int().positive(),
  /** When the path is tried again (ms since the epoch), or null: on the next change or peer. */
  nextAttemptAt: z.number().nullable(),
}).strict();

/** Transfer progress of the current sync (present while syncing). */
export const syncProgressSchema = z.object({
  /** Bytes of this sync's files already written (or blocks stored). */
  doneBytes: z.number().nonnegative(),
  /** doneBytes + needBytes. */
  totalBytes: z.number().nonnegative(),
  /** 0..100, whole percent; 100 only when nothing is needed. */
  percent: z.number().int().min(0).max(100),
  /** Bytes per second over the last few seconds. */
  rate: z.number().nonnegative(),
  /** Seconds left at that rate, or null while the rate is unknown (0). */
  etaSeconds: z.number().nonnegative().nullable(),
}).strict();

/** The devices this folder is shared with right now. */
export const folderPeersSchema = z.object({
  /** Connected devices that proved they hold this folder's key. */
  connected: z.number().int().nonnegative(),
  /** Connected devices (any folder): > 0 with `connected` 0 hints at a wrong key. */
  devicesConnected: z.number().int().nonnegative(),
  /** Last time (ms since the epoch) a device sharing the folder was connected; null: never since start. */
  lastSeenAt: z.number().nullable(),
}).strict();

/**
 * A connected device that shares the folder, and how far it is with it by
 * its own count (peer-progress.ts: each device reports its needs when it
 * joins and whenever they change). The counts are null until its first report.
 */
export const folderDeviceSchema = z.object({
  /** Device id text form. */
  id: z.string().min(1),
  /** The name it announced, or null. Plain data from a peer: show it as text. */
  name: z.string().nullable(),
  /** 0..100 whole percent of the folder's bytes it holds; 100 only when it needs nothing. */
  percent: z.number().int().min(0).max(100).nullable(),
  /** Files and bytes it still needs. */
  needFiles: z.number().int().nonnegative().nullable(),
  needBytes: z.number().nonnegative().nullable(),
  /** When its last report arrived (ms since the epoch). */
  reportedAt: z.number().nullable(),
}).strict();

/**
 * Something a peer did that signed heads (docs/crypto.md 5) caught:
 * - withholding: a head of `device` lists versions this device still lacks
 *   after a grace period: "the server may be withholding updates from DEVICE
 *   since TIME" (`since` is the head's time);
 * - rollback: records older than a head of `device` were refused (a replayed
 *   old version, a resurrected deleted file, or part of a mixed state);
 * - conflicting-heads: two different heads with one number from `device`.
 */
export const integrityKindSchema = z.enum(['withholding', 'rollback', 'conflicting-heads']);

export const integrityProblemSchema = z.object({
  kind: integrityKindSchema,
  /** Device id text of the writer whose head this is about. */
  device: z.string().min(1),
  /** The head's number. */
  head: z.number().int().positive(),
  /** withholding: the head's time; otherwise when it first happened (ms since the epoch). */
  since: z.number(),
  /** Versions missing, records refused, or heads refused. */
  count: z.number().int().positive(),
  /** One line for people. */
  message: z.string().min(1),
}).strict();

export const folderStatusSchema = z.object({
  path: z.string(),
  type: folderTypeSchema,
  /** Folder id text form (public). */
  folderId: z.string(),
  state: folderStateSchema,
  localFiles: z.number().int().nonnegative(),
  localBytes: z.number().nonnegative(),
  globalFiles: z.number().int().nonnegative(),
  globalBytes: z.number().nonnegative(),
  needFiles: z.number().int().nonnegative(),
  needBytes: z.number().nonnegative(),
  /** Plain-words description of the folder's error, or null. */
  error: z.string().nullable(),
  /** Stable code (src/errors.ts) of `error`, when it has one. */
  errorCode: z.string().nullable(),
  /** Why the folder is not up to date when that is not an error (waiting, unshared), or null. */
  notice: z.string().nullable(),
  /** Paths waiting for a retry, at most MAX_PARKED_REPORTED. */
  parked: z.array(parkedPathSchema).max(MAX_PARKED_REPORTED),
  /** How many paths are parked in all. */
  parkedCount: z.number().int().nonnegative(),
  peers: folderPeersSchema,
  /** Last time (ms since the epoch) the folder changed here or from a peer; null: not since start. */
  lastChangeAt: z.number().nullable(),
  /** Present while a scan runs. */
  scan: scanProgressSchema.optional(),
  /** Present while syncing. */
  progress: syncProgressSchema.optional(),
  /** Paths (relative) that could not be read in the last scan, bounded in count. */
  unreadable: z.array(z.string()).optional(),
  /** Read-only folders: paths whose local content differs from the global state. */
  localChanges: z.array(z.string()).optional(),
  /** What signed heads caught (absent when nothing): the folder is then not up to date ('waiting'). */
  integrity: z.array(integrityProblemSchema).optional(),
  /**
   * Paused by the user (`folder pause`): its engine does not run; state is `unshared` with a notice,
   * and the counts are those it had when it was paused (nothing is scanned or received meanwhile).
   */
  paused: z.boolean().optional(),
  /** Connected devices that share this folder, and how far each is (absent while paused or stopped). */
  devices: z.array(folderDeviceSchema).optional(),
}).strict();

/**
 * Why a peer is not usable:
 * - refused: the address answered, nothing listens there (ECONNREFUSED).
 * - unreachable: no route, no such host, or the dial timed out.
 * - tls: the TLS handshake failed, or the peer's certificate is not a sealsync device certificate.
 * - wrong-device: the device at the address is not the one pinned for it (its certificate has another id): refused.
 * - protocol: the connection opened but the sealsync handshake failed.
 * - no-shared-folder: connected, but it proved no folder this device has (a wrong key on either side?).
 * - other: anything else (`message` says what).
 */
export const peerProblemReasonSchema = z.enum(['refused', 'unreachable', 'tls', 'wrong-device', 'protocol', 'no-shared-folder', 'other']);

export const peerProblemSchema = z.object({
  reason: peerProblemReasonSchema,
  /** Plain-words detail (the dial error). */
  message: z.string(),
  /** Last dial attempt (ms since the epoch), null if never dialled (an incoming peer). */
  lastAttemptAt: z.number().nullable(),
  /** Next dial attempt (ms since the epoch), null if none is scheduled (connected, or incoming only). */
  nextAttemptAt: z.number().nullable(),
}).strict();

export const peerStatusSchema = z.object({
  /** Device id text form, or null until the first connection told us. */
  id: z.string().nullable(),
  name: z.string().nullable(),
  /** `tcp://HOST:PORT` as configured (or the remote address of an incoming peer). */
  address: z.string(),
  connected: z.boolean(),
  inBytes: z.number().nonnegative(),
  outBytes: z.number().nonnegative(),
  /** Bytes per second. */
  inRate: z.number().nonnegative(),
  outRate: z.number().nonnegative(),
  /** Folders this peer shares with this device right now (proved both ways). */
  sharedFolders: z.number().int().nonnegative(),
  /** Why the peer is down or useless, or null when it is connected and shares a folder. */
  problem: peerProblemSchema.nullable(),
  /** When this device last had a session with it (ms since the epoch; kept across restarts), null: never. */
  lastSeenAt: z.number().nullable().optional(),
  /** Paths of the folders it shares with this device right now. */
  folders: z.array(z.string()).optional(),
}).strict();

export const deviceInfoSchema = z.object({
  /** Device id text form. */
  id: z.string(),
  name: z.string(),
  /** The real bound sync addresses, `tcp://HOST:PORT`. */
  listen: z.array(z.string()),
}).strict();

export const statusReportSchema = z.object({
  schemaVersion: z.literal(STATUS_SCHEMA_VERSION),
  device: deviceInfoSchema,
  /** Present when the dashboard is enabled. */
  ui: z.object({ url: z.string() }).strict().optional(),
  folders: z.array(folderStatusSchema),
  peers: z.array(peerStatusSchema),
}).strict();

type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export type FolderType = z.infer<typeof folderTypeSchema>;
export type FolderState = z.infer<typeof folderStateSchema>;
export type ScanProgress = DeepReadonly<z.infer<typeof scanProgressSchema>>;
export type ParkedPath = DeepReadonly<z.infer<typeof parkedPathSchema>>;
export type SyncProgress = DeepReadonly<z.infer<typeof syncProgressSchema>>;
export type FolderPeers = DeepReadonly<z.infer<typeof folderPeersSchema>>;
export type FolderDevice = DeepReadonly<z.infer<typeof folderDeviceSchema>>;
export type FolderStatus = DeepReadonly<z.infer<typeof folderStatusSchema>>;
export type IntegrityProblem = DeepReadonly<z.infer<typeof integrityProblemSchema>>;
export type PeerProblemReason = z.infer<typeof peerProblemReasonSchema>;
export type PeerProblem = DeepReadonly<z.infer<typeof peerProblemSchema>>;
export type PeerStatus = DeepReadonly<z.infer<typeof peerStatusSchema>>;
export type DeviceInfo = DeepReadonly<z.infer<typeof deviceInfoSchema>>;
export type StatusReport = DeepReadonly<z.infer<typeof statusReportSchema>>;

/** Checks a status report (tests, and tools that read `status --json`); throws a ZodError naming the bad field. */
export function parseStatusReport(value: unknown): StatusReport {
  return statusReportSchema.parse(value);
}

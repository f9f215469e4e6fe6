/**
 * The one error catalog. Every failure sealsync reports has a stable code here,
 * a default message and an HTTP status (for the REST API). Codes are never
 * reused once retired. Errors serialise to JSON so they survive a worker or an
 * HTTP hop and come back as the same code.
 */

export const ERROR_CATALOG = {
  // generic
  ERR_INTERNAL: { status: 500, message: 'internal error' },
  ERR_INVALID_ARGUMENT: { status: 400, message: 'invalid argument' },
  ERR_ABORTED: { status: 499, message: 'operation aborted' },
  ERR_TIMEOUT: { status: 504, message: 'operation timed out' },
  ERR_NOT_FOUND: { status: 404, message: 'not found' },
  ERR_USAGE: { status: 400, message: 'bad usage (see --help)' },
  ERR_COMMAND_FAILED: { status: 500, message: 'a system command failed' },
  // keys
  ERR_KEY_EMPTY: { status: 400, message: 'key is empty' },
  ERR_KEY_TYPE: { status: 400, message: 'unknown key type (a key starts with W, R or E)' },
  ERR_KEY_LENGTH: { status: 400, message: 'key has the wrong length' },
  ERR_KEY_CHARACTER: { status: 400, message: 'key contains a character that is not in its alphabet' },
  ERR_KEY_CHECKSUM: { status: 400, message: 'key checksum does not match (mistyped?)' },
  ERR_KEY_LINK: { status: 400, message: 'not a sealsync:// link' },
  ERR_KEY_DERIVE: { status: 400, message: 'this key cannot be derived in that direction' },
  // sealed formats
  ERR_FORMAT_VERSION: { status: 400, message: 'unsupported format version' },
  ERR_FORMAT_ALGORITHM: { status: 400, message: 'unknown algorithm id' },
  ERR_FORMAT_TRUNCATED: { status: 400, message: 'data is truncated or malformed' },
  ERR_SIGNATURE: { status: 400, message: 'signature verification failed' },
  ERR_DECRYPT: { status: 400, message: 'decryption failed (wrong key or tampered data)' },
  ERR_BLOCK_ID: { status: 400, message: 'block content does not match its id' },
  ERR_DEVICE_ID: { status: 400, message: 'invalid device id' },
  // home, config, daemon
  ERR_CONFIG_INVALID: { status: 500, message: 'config file is invalid' },
  ERR_CONFIG_MISSING: { status: 500, message: 'no config: run `sealsync init` first' },
  ERR_HOME_EXISTS: { status: 409, message: 'home is already initialised' },
  ERR_HOME_MISSING: { status: 404, message: 'no sealsync home there (create one with `sealsync init`)' },
  ERR_DAEMON_RUNNING: { status: 409, message: 'a daemon is already running on this home' },
  ERR_DAEMON_NOT_RUNNING: { status: 503, message: 'the daemon is not running (start it with `sealsync start`)' },
  ERR_LISTEN: { status: 500, message: 'cannot listen on address' },
  ERR_ADDRESS: { status: 400, message: 'invalid address' },
  // folders and paths
  ERR_PATH_MISSING: { status: 400, message: 'path does not exist' },
  ERR_PATH_NOT_DIR: { status: 400, message: 'path is not a directory' },
  ERR_PATH_UNREADABLE: { status: 400, message: 'path cannot be read' },
  ERR_PATH_UNWRITABLE: { status: 400, message: 'path cannot be written' },
  ERR_PATH_UNSAFE: { status: 400, message: 'path is not a safe relative path' },
  ERR_FILE_TOO_LARGE: { status: 413, message: 'file is larger than sealsync can sync' },
  ERR_FILE_CHANGED: { status: 409, message: 'file changed on disk while it was being read' },
  ERR_QUEUE_FULL: { status: 503, message: 'too many operations are queued; retry later' },
  ERR_FOLDER_OVERLAP: { status: 409, message: 'path overlaps a folder that is already shared' },
  ERR_FOLDER_EXISTS: { status: 409, message: 'folder is already shared' },
  ERR_FOLDER_UNKNOWN: { status: 404, message: 'no such folder' },
  ERR_FOLDER_TYPE: { status: 400, message: 'operation not possible for this folder type' },
  ERR_FOLDER_MARKER_MISSING: { status: 409, message: 'the folder is empty and its marker is gone (unmounted or emptied?)' },
  ERR_STORE_IN_USE: { status: 409, message: 'the block store is in use by another sealsync process' },
  ERR_PEER_EXISTS: { status: 409, message: 'peer is already known' },
  ERR_PEER_UNKNOWN: { status: 404, message: 'no such peer' },
  // network and protocol
  ERR_PROTOCOL: { status: 502, message: 'protocol violation' },
  ERR_FRAME_TOO_LARGE: { status: 502, message: 'frame exceeds the maximum size' },
  ERR_PEER_IDENTITY: { status: 502, message: 'peer identity does not match' },
  ERR_ACCESS_PROOF: { status: 403, message: 'access proof rejected' },
  ERR_MISBEHAVIOUR: { status: 502, message: 'peer exceeded its misbehaviour budget' },
  ERR_CONNECTION_CLOSED: { status: 502, message: 'connection closed' },
  // devices: invites, linking, the keyring
  ERR_INVITE_CODE: { status: 400, message: 'invalid invite code' },
  ERR_INVITE_REFUSED: { status: 403, message: 'the inviting device refused the invite code' },
  ERR_DEVICE_UNKNOWN: { status: 404, message: 'no such device' },
  ERR_KEYRING_INVALID: { status: 500, message: 'the keyring file is invalid' },
  // web ui
  ERR_UNAUTHORIZED: { status: 401, message: 'login required' },
  ERR_FORBIDDEN: { status: 403, message: 'forbidden' },
  ERR_CSRF: { status: 403, message: 'missing or invalid CSRF token' },
  ERR_HOST: { status: 421, message: 'request Host does not match the dashboard address' },
  ERR_ORIGIN: { status: 403, message: 'request Origin is not the dashboard' },
  ERR_PASSWORD: { status: 400, message: 'password is not acceptable' },
  ERR_LOGIN: { status: 401, message: 'login failed' },
  ERR_UI_UNSAFE_LISTEN: { status: 400, message: 'the dashboard may listen beyond loopback only with HTTPS and a password' },
  ERR_LOGIN_THROTTLED: { status: 429, message: 'too many login attempts: wait a moment and try again' },
  ERR_UI_DISABLED: { status: 409, message: 'the dashboard is disabled (webui.enabled is false)' },
  ERR_PATH_NOT_CANONICAL: { status: 400, message: 'the request path is not in canonical form' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface SealsyncErrorJSON {
  name: 'SealsyncError';
  code: ErrorCode;
  message: string;
  data?: Record<string, unknown>;
}

export class SealsyncError extends Error {
  override readonly name = 'SealsyncError';
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ERROR_CATALOG[code].message, options);
    this.code = code;
    this.data = data;
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }

  toJSON(): SealsyncErrorJSON {
    return this.data === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, data: this.data };
  }

  static fromJSON(json: unknown): SealsyncError {
    if (typeof json === 'object' && json !== null) {
      const j = json as Partial<SealsyncErrorJSON>;
      if (typeof j.code === 'string' && j.code in ERROR_CATALOG) {
        return new SealsyncError(j.code as ErrorCode, typeof j.message === 'string' ? j.message : undefined, j.data);
      }
    }
    return new SealsyncError('ERR_INTERNAL', 'malformed error');
  }
}

export function isSealsyncError(err: unknown, code?: ErrorCode): err is SealsyncError {
  return err instanceof SealsyncError && (code === undefined || err.code === code);
}

/** A one-line, user-facing description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof SealsyncError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? 'error';
  return String(err);
}

/** Why a socket could not listen, in words, for the errno codes a user can act on. */
const LISTEN_ERRNO_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another program',
  EADDRNOTAVAIL: 'no network interface of this machine has that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

/**
 * The one-line ERR_LISTEN for a failed listen: "<subject> cannot listen on <address>: <reason>; <hint>".
 * `hint` says where the address is set; it is shown only with a reason the user can act on.
 */
export function listenFailure(where: { subject?: string; address: string; hint: string }, err: unknown): SealsyncError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = code !== undefined ? LISTEN_ERRNO_REASONS[code] : undefined;
  const text = reason !== undefined ? `${reason}; ${where.hint}` : (code ?? describeError(err));
  const subject = where.subject !== undefined ? `${where.subject} cannot` : 'cannot';
  return new SealsyncError('ERR_LISTEN', `${subject} listen on ${where.address}: ${text}`, undefined, { cause: err });
}

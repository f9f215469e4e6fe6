/**
 * How long replaced content is kept: archived copies on a full peer
 * (fs/archive.ts) and retained blocks on an encrypted peer
 * (engine/replica/replica-gc.ts) follow one setting, `archive.retentionDays`
 * (and a folder's own `folder retention`), so they share its bounds.
 */

/** Days replaced content is kept when nothing else is set. */
export const DEFAULT_RETENTION_DAYS = 30;
/** Ten years: beyond this a number is a typo, not a policy. */
export const MAX_RETENTION_DAYS = 3650;

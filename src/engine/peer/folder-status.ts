/**
 * What a folder reports in `status --json`, the REST API and the dashboard.
 * The shapes live in status-schema.ts (one zod schema, types inferred from
 * it); this module keeps the engine's import path.
 */
export type { FolderPeers, FolderState, FolderStatus, FolderType, ParkedPath, ScanProgress, SyncProgress } from './status-schema.js';

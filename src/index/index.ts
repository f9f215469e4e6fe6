/** Public entry of the index layer. */
export { openIndex, SqliteIndex, MAX_CONCURRENT_VERSIONS, MAX_RECORDS_PAGE } from './sqlite-index.js';
export type { Index } from './sqlite-index.js';
export { SCHEMA_VERSION } from './migrations.js';
export { LOOKUP_BATCH } from './sqlite-statements.js';
export type * from './types.js';

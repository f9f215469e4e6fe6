/**
 * Whether a record withholds its block ids (docs/crypto.md §4.4): its blocks
 * are known by plaintext hash only, so an encrypted peer cannot take it until
 * a writer completes it.
 */
import type { FileRecord } from './types.js';

export function withholdsBlockIds(record: Pick<FileRecord, 'blocks'>): boolean {
  return record.blocks.some((b) => b.id === null);
}

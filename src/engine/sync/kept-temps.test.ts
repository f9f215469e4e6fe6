import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tempNameFor } from '../../fs/atomic-apply.js';
import type { FileRecord } from '../../model/types.js';
import { KeptTemps } from './kept-temps.js';

function fileRecord(path: string, counter: number, extra: Partial<FileRecord> = {}): FileRecord {
  return { path, kind: 'file', size: 1, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: '00000000000000aa', value: counter }], deleted: false, ...extra };
}

/** Writes the temp file a failed transfer of `r` would have kept; returns its path. */
function keptFile(root: string, r: FileRecord): string {
  const p = join(dirname(join(root, r.path)), tempNameFor(r.path, r.version));
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, 'partial');
  return p;
}

test('a kept temp file goes when its path lands another version or a delete, and stays for a retry of its own version', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sealsync-kept-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const kept = new KeptTemps();

  const v1 = fileRecord('dir/grows.log', 1);
  const t1 = keptFile(root, v1);
  kept.failed(root, v1);
  await kept.settled(root, v1); // the retry of the same version resumed from it
  assert.ok(existsSync(t1), 'its own version may still use it');

  kept.failed(root, v1);
  await kept.settled(root, fileRecord('dir/grows.log', 2));
  assert.ok(!existsSync(t1), 'a newer version landed: the old temp file is gone');

  const v3 = fileRecord('dir/grows.log', 3);
  const t3 = keptFile(root, v3);
  kept.failed(root, v3);
  await kept.settled(root, fileRecord('dir/grows.log', 4, { deleted: true, size: 0 }));
  assert.ok(!existsSync(t3), 'a delete landed: the temp file is gone');

  const other = fileRecord('other.bin', 1);
  const tOther = keptFile(root, other);
  kept.failed(root, other);
  await kept.settled(root, fileRecord('dir/grows.log', 5));
  assert.ok(existsSync(tOther), 'another path is not touched');
});

import { openIndex } from '../src/index/index.ts';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
const dir = mkdtempSync('/tmp/s14/eqp-');
const idx = openIndex(join(dir, 'i.db'));
const folder = idx.addFolder({ path: '/x', folderId: 'ab'.repeat(32), type: 'rw' }).rowId;
idx.close();
const db = new Database(join(dir, 'i.db'));
db.pragma('journal_mode = WAL');
const N = Number(process.argv[2] ?? 30000);
const hashes: Buffer[] = [];
const insF = db.prepare(`INSERT INTO files (folder, path, kind, size, mtime_ms, mode, deleted, version_key, blocks, disk_mtime, ino, dev, seq) VALUES (?, ?, 'file', 4096, 0, 420, 0, 'v', x'', 0, ?, 1, ?)`);
const insB = db.prepare('INSERT INTO blocks (file, offset, size, hash, id) VALUES (?, 0, 4096, ?, ?)');
db.transaction(() => { for (let i = 0; i < N; i++) { const r = insF.run(folder, `d${i % 100}/f${i}.dat`, i, i + 1); const h = randomBytes(32); hashes.push(h); insB.run(r.lastInsertRowid, h, Buffer.alloc(0)); } })();
db.close();
const idx2 = openIndex(join(dir, 'i.db'));
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) idx2.findServableBlocks(folder, hashes[(i * 7919) % N]!, 4);
  console.log(N, 'files:', ((performance.now() - t0) / N * 1000).toFixed(1), 'us/query');
}
const raw = new Database(join(dir, 'i.db'));
const stmts = {
  current: `SELECT f.path AS path, b.offset AS offset, b.size AS size, f.size AS file_size, f.disk_mtime AS disk_mtime, f.ino AS ino, f.dev AS dev FROM blocks b JOIN files f ON f.rowid = b.file WHERE substr(b.hash, 1, 8) = substr(?, 1, 8) AND b.hash = ? AND f.folder = ? AND f.deleted = 0 LIMIT ?`,
  blockOnly: `SELECT b.file, b.offset FROM blocks b WHERE substr(b.hash, 1, 8) = substr(?, 1, 8) AND b.hash = ? LIMIT ?`,
};
for (const [name, sql] of Object.entries(stmts)) {
  const st = raw.prepare(sql);
  const args = (h: Buffer) => name === 'current' ? [h, h, folder, 4] : [h, h, 4];
  for (let r = 0; r < 2; r++) { const t0 = performance.now(); for (let i = 0; i < N; i++) st.all(...args(hashes[(i * 7919) % N]!)); console.log(name, ((performance.now() - t0) / N * 1000).toFixed(1), 'us'); }
}
console.log(raw.prepare('PRAGMA cache_size').get(), raw.prepare('PRAGMA page_size').get());
raw.exec('CREATE INDEX IF NOT EXISTS blocks_full_hash ON blocks (hash)');
const more = {
  key8param: [`SELECT b.file, b.offset FROM blocks b WHERE substr(b.hash, 1, 8) = ? AND b.hash = ? LIMIT ?`, (h: Buffer) => [h.subarray(0, 8), h, 4]],
  fullIdx: [`SELECT b.file, b.offset FROM blocks b INDEXED BY blocks_full_hash WHERE b.hash = ? LIMIT ?`, (h: Buffer) => [h, 4]],
  trivial: [`SELECT 1`, (_h: Buffer) => []],
  rowidFile: [`SELECT path FROM files WHERE rowid = ?`, (_h: Buffer) => [1 + Math.floor(Math.random() * N)]],
} as const;
for (const [name, [sql, args]] of Object.entries(more)) {
  const st = raw.prepare(sql);
  for (let r = 0; r < 2; r++) { const t0 = performance.now(); for (let i = 0; i < N; i++) st.all(...(args as any)(hashes[(i * 7919) % N]!)); console.log(name, ((performance.now() - t0) / N * 1000).toFixed(1), 'us'); }
}

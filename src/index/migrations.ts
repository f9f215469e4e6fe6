/**
 * Versioned schema migrations for index.db. Each entry runs once, in order,
 * inside one transaction together with its row in `schema_version`. Never
 * edit a released migration: append a new one.
 *
 * Version 2 (issue 16) replaced version 1 without a migration: an index of
 * schema 1 is refused (OLDEST_SUPPORTED_SCHEMA) and the home re-created. What
 * changed, measured with the dbstat table on a 20,000-file tree (920 bytes
 * per file in version 1, docs/performance.md):
 *
 * - Lookup keys of uniformly random values (locators, block ids and hashes)
 *   are indexed by their first 8 bytes (an expression index on
 *   `substr(col, 1, 8)`), not the whole 32: the query compares the full value
 *   in the row. A 32-byte key plus the row's key made each entry ~65 bytes;
 *   now ~20. Collisions of 8 random bytes only cost a row read.
 * - The blocks table points at its file row (`file` = files.rowid, kept
 *   stable by an upsert) instead of repeating the path, and is keyed by
 *   (file, offset): a path was stored in the table and both its indexes.
 * - (folder, locator, version) stays unique by putRecord's check (it reads
 *   every held version of a locator before inserting).
 *
 * Tables with large rows (sealed bytes) are rowid tables: SQLite advises
 * against WITHOUT ROWID for wide rows.
 *
 * Byte values (locators, block ids, hashes) are BLOB columns: half the size
 * of hex text and compared bytewise. Folder ids stay hex text (they are
 * looked up by humans and the API).
 */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

/**
 * Index databases older than this are refused (no migration): the home is
 * re-created. Schema 3 came with record format 3 (block ids may be withheld,
 * docs/crypto.md §4.4): a schema-2 index holds format-2 records, which this
 * version does not read.
 */
export const OLDEST_SUPPORTED_SCHEMA = 3;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE folders (
        id        INTEGER PRIMARY KEY,
        path      TEXT NOT NULL UNIQUE,
        folder_id TEXT NOT NULL UNIQUE,
        type      TEXT NOT NULL CHECK (type IN ('rw', 'ro', 'encrypted')),
        seq       INTEGER NOT NULL DEFAULT 0
      );

      -- The global view: sealed records held, several rows per locator only
      -- while their versions are concurrent. Plain columns (kind … deleted)
      -- are filled by full peers that could open the record; NULL on E peers.
      CREATE TABLE records (
        rowid       INTEGER PRIMARY KEY,
        folder      INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        locator     BLOB NOT NULL,
        version_key TEXT NOT NULL,
        last_writer TEXT NOT NULL,
        block_ids   BLOB NOT NULL,
        sealed      BLOB NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT,
        size        INTEGER,
        mtime_ms    INTEGER,
        deleted     INTEGER
      );
      CREATE INDEX records_by_locator ON records (folder, substr(locator, 1, 8));
      CREATE UNIQUE INDEX records_by_seq ON records (folder, seq);

      -- Full peers: what is on disk (decoded record + stat shortcut fields).
      -- AUTOINCREMENT: a row written after a scan began has a higher rowid than
      -- every row it could see then (the scan's deletion pass, lastFileRowId).
      CREATE TABLE files (
        rowid          INTEGER PRIMARY KEY AUTOINCREMENT,
        folder         INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path           TEXT NOT NULL,
        kind           TEXT NOT NULL,
        size           INTEGER NOT NULL,
        mtime_ms       INTEGER NOT NULL,
        mode           INTEGER NOT NULL,
        symlink_target TEXT,
        deleted        INTEGER NOT NULL,
        version_key    TEXT NOT NULL,
        blocks         BLOB NOT NULL,
        disk_mtime     REAL NOT NULL,
        ino            INTEGER NOT NULL,
        dev            INTEGER NOT NULL,
        seq            INTEGER NOT NULL,
        local_change   INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX files_by_path ON files (folder, path);

      -- Full peers: where a plaintext block lives on local disk. 'file' is the
      -- files row (its rowid; removeFolder and forgetFile delete the blocks).
      CREATE TABLE blocks (
        file   INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        size   INTEGER NOT NULL,
        hash   BLOB NOT NULL,
        id     BLOB NOT NULL,
        PRIMARY KEY (file, offset)
      ) WITHOUT ROWID;
      CREATE INDEX blocks_by_id ON blocks (substr(id, 1, 8));
      CREATE INDEX blocks_by_hash ON blocks (substr(hash, 1, 8));

      CREATE TABLE peers (
        folder    INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        index_id  TEXT NOT NULL,
        max_seq   INTEGER NOT NULL,
        PRIMARY KEY (folder, device_id)
      ) WITHOUT ROWID;

      -- Signed head pages (docs/crypto.md 5): per folder and writer, only the
      -- pages of the newest head number seen. A writer's own head is stored here
      -- before it is published, so its number is never used twice. A rowid
      -- table: a page may be up to 1 MiB.
      CREATE TABLE heads (
        rowid      INTEGER PRIMARY KEY,
        folder     INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        writer     TEXT NOT NULL,
        number     INTEGER NOT NULL,
        page_bits  INTEGER NOT NULL,
        page_index INTEGER NOT NULL,
        bytes      BLOB NOT NULL
      );
      CREATE UNIQUE INDEX heads_by_page ON heads (folder, writer, page_index);

      -- Who replaced an archived copy (.sealsync/archive/…): written when the
      -- puller or a restore moves a file there; the archive on disk is the truth
      -- about which copies exist, this only names the device that replaced them.
      CREATE TABLE archive_notes (
        folder       INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        archive_path TEXT NOT NULL,
        path         TEXT NOT NULL,
        replaced_by  TEXT,
        at_ms        INTEGER NOT NULL,
        PRIMARY KEY (folder, archive_path)
      ) WITHOUT ROWID;

      -- Devices this one has met, with the name each last announced: the
      -- versions and conflicts views name writers after a restart too.
      CREATE TABLE known_devices (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL,
        seen_ms INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- The daemon's event log (bounded: the oldest rows go first), so the
      -- history survives a restart.
      CREATE TABLE event_log (
        seq     INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        event   TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      -- 1 once the folder has had an encrypted peer: its scans seal every block
      -- to give records their block ids; until then the ids are withheld.
      ALTER TABLE folders ADD COLUMN seal_ids INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 4,
    sql: `
      -- Signed heads, format 3 (docs/crypto.md 5, src/index/head-store.ts): per
      -- folder and writer the newest root (page_index -1) and the newest version
      -- of each page. made_at_seq: on this device's own root, the folder's record
      -- seq its head covers (the next head re-signs only pages changed since).
      -- Format-2 heads are not readable any more: dropped, and re-made by their
      -- writers at the next change.
      DROP TABLE heads;
      CREATE TABLE heads (
        rowid       INTEGER PRIMARY KEY,
        folder      INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        writer      TEXT NOT NULL,
        page_index  INTEGER NOT NULL,
        number      INTEGER NOT NULL,
        page_bits   INTEGER NOT NULL,
        made_at_seq INTEGER,
        bytes       BLOB NOT NULL
      );
      CREATE UNIQUE INDEX heads_by_page ON heads (folder, writer, page_index);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Versioned schema migrations for index.db. Each entry runs once, in order,
 * inside one transaction together with its row in `schema_version`. Never
 * edit a released migration: append a new one.
 *
 * Tables with large rows (sealed bytes, block lists) are rowid tables with a
 * unique index: SQLite advises against WITHOUT ROWID for wide rows.
 *
 * Byte values (locators, block ids, hashes) are BLOB columns: half the size
 * of hex text and compared bytewise. Folder ids stay hex text (they are
 * looked up by humans and the API).
 */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
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
      CREATE UNIQUE INDEX records_by_locator ON records (folder, locator, version_key);
      CREATE UNIQUE INDEX records_by_seq ON records (folder, seq);

      -- Full peers: what is on disk (decoded record + stat shortcut fields).
      CREATE TABLE files (
        rowid          INTEGER PRIMARY KEY,
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

      -- Full peers: where a plaintext block lives on local disk.
      CREATE TABLE blocks (
        folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path   TEXT NOT NULL,
        offset INTEGER NOT NULL,
        size   INTEGER NOT NULL,
        hash   BLOB NOT NULL,
        id     BLOB NOT NULL,
        PRIMARY KEY (folder, path, offset)
      ) WITHOUT ROWID;
      CREATE INDEX blocks_by_id ON blocks (id);
      CREATE INDEX blocks_by_hash ON blocks (hash);

      CREATE TABLE peers (
        folder    INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        index_id  TEXT NOT NULL,
        max_seq   INTEGER NOT NULL,
        PRIMARY KEY (folder, device_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    sql: `
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

      -- The daemon's event log (bounded: the oldest rows go first), so the
      -- history survives a restart.
      -- Devices this one has met, with the name each last announced: the
      -- versions and conflicts views name writers after a restart too.
      CREATE TABLE known_devices (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL,
        seen_ms INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE event_log (
        seq     INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        event   TEXT NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

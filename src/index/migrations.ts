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
  {
    version: 5,
    sql: `
      -- Running totals per folder (SqliteIndex.globalStats/localStats): what the status
      -- counts, kept by triggers as rows change instead of recomputed from every
      -- row after each scan (a window query over every record: ~130 ms at 50,000
      -- records, seconds at a million, after every edit). g_*: the global view,
      -- one winning record per locator (deleted last, then newest mtime, then
      -- writer and version, as the window query it replaces); l_*: the files
      -- table (what is on disk).
      CREATE TABLE folder_totals (
        folder     INTEGER PRIMARY KEY REFERENCES folders(id) ON DELETE CASCADE,
        g_records  INTEGER NOT NULL DEFAULT 0,
        g_files    INTEGER NOT NULL DEFAULT 0,
        g_bytes    INTEGER NOT NULL DEFAULT 0,
        g_dirs     INTEGER NOT NULL DEFAULT 0,
        g_symlinks INTEGER NOT NULL DEFAULT 0,
        g_deleted  INTEGER NOT NULL DEFAULT 0,
        g_unknown  INTEGER NOT NULL DEFAULT 0,
        l_files    INTEGER NOT NULL DEFAULT 0,
        l_bytes    INTEGER NOT NULL DEFAULT 0,
        l_dirs     INTEGER NOT NULL DEFAULT 0,
        l_symlinks INTEGER NOT NULL DEFAULT 0,
        l_deleted  INTEGER NOT NULL DEFAULT 0,
        l_changes  INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO folder_totals (folder) SELECT id FROM folders;
      UPDATE folder_totals SET
        g_records = IFNULL(t.records, 0), g_files = IFNULL(t.files, 0), g_bytes = IFNULL(t.bytes, 0), g_dirs = IFNULL(t.dirs, 0),
        g_symlinks = IFNULL(t.symlinks, 0), g_deleted = IFNULL(t.deleted, 0), g_unknown = IFNULL(t.unknown, 0)
      FROM (
        SELECT folder, COUNT(*) AS records,
               SUM(kind = 'file' AND deleted = 0) AS files,
               SUM(CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END) AS bytes,
               SUM(kind = 'dir' AND deleted = 0) AS dirs,
               SUM(kind = 'symlink' AND deleted = 0) AS symlinks,
               SUM(deleted = 1) AS deleted,
               SUM(kind IS NULL) AS unknown
        FROM (
          SELECT folder, kind, size, deleted, ROW_NUMBER() OVER (
            PARTITION BY folder, locator ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC
          ) AS rn
          FROM records
        ) WHERE rn = 1 GROUP BY folder
      ) AS t WHERE t.folder = folder_totals.folder;
      UPDATE folder_totals SET
        l_files = IFNULL(t.files, 0), l_bytes = IFNULL(t.bytes, 0), l_dirs = IFNULL(t.dirs, 0),
        l_symlinks = IFNULL(t.symlinks, 0), l_deleted = IFNULL(t.deleted, 0), l_changes = IFNULL(t.changes, 0)
      FROM (
        SELECT folder, SUM(kind = 'file' AND deleted = 0) AS files,
               SUM(CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END) AS bytes,
               SUM(kind = 'dir' AND deleted = 0) AS dirs, SUM(kind = 'symlink' AND deleted = 0) AS symlinks,
               SUM(deleted = 1) AS deleted, SUM(local_change = 1) AS changes
        FROM files GROUP BY folder
      ) AS t WHERE t.folder = folder_totals.folder;

      CREATE TRIGGER folder_totals_new_folder AFTER INSERT ON folders BEGIN
        INSERT INTO folder_totals (folder) VALUES (NEW.id);
      END;

      -- A record in: the locator's winner may change (n: with the new row, o: without it).
      CREATE TRIGGER folder_totals_record_in AFTER INSERT ON records BEGIN
        UPDATE folder_totals SET
          g_records = g_records + (o.p IS NULL),
          g_files = g_files + n.f - IFNULL(o.f, 0),
          g_bytes = g_bytes + n.b - IFNULL(o.b, 0),
          g_dirs = g_dirs + n.d - IFNULL(o.d, 0),
          g_symlinks = g_symlinks + n.s - IFNULL(o.s, 0),
          g_deleted = g_deleted + n.x - IFNULL(o.x, 0),
          g_unknown = g_unknown + n.u - IFNULL(o.u, 0)
        FROM (SELECT IFNULL(kind = 'file' AND deleted = 0, 0) AS f,
                 CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END AS b,
                 IFNULL(kind = 'dir' AND deleted = 0, 0) AS d,
                 IFNULL(kind = 'symlink' AND deleted = 0, 0) AS s,
                 IFNULL(deleted = 1, 0) AS x,
                 kind IS NULL AS u,
                 1 AS p
          FROM records WHERE folder = NEW.folder AND substr(locator, 1, 8) = substr(NEW.locator, 1, 8) AND locator = NEW.locator
          ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC LIMIT 1) AS n
        LEFT JOIN (SELECT IFNULL(kind = 'file' AND deleted = 0, 0) AS f,
                 CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END AS b,
                 IFNULL(kind = 'dir' AND deleted = 0, 0) AS d,
                 IFNULL(kind = 'symlink' AND deleted = 0, 0) AS s,
                 IFNULL(deleted = 1, 0) AS x,
                 kind IS NULL AS u,
                 1 AS p
          FROM records WHERE folder = NEW.folder AND substr(locator, 1, 8) = substr(NEW.locator, 1, 8) AND locator = NEW.locator AND rowid <> NEW.rowid
          ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC LIMIT 1) AS o ON 1
        WHERE folder_totals.folder = NEW.folder;
      END;

      -- A record out (before, so the row still takes part; o: with it, n: without it).
      CREATE TRIGGER folder_totals_record_out BEFORE DELETE ON records BEGIN
        UPDATE folder_totals SET
          g_records = g_records - (n.p IS NULL),
          g_files = g_files + IFNULL(n.f, 0) - o.f,
          g_bytes = g_bytes + IFNULL(n.b, 0) - o.b,
          g_dirs = g_dirs + IFNULL(n.d, 0) - o.d,
          g_symlinks = g_symlinks + IFNULL(n.s, 0) - o.s,
          g_deleted = g_deleted + IFNULL(n.x, 0) - o.x,
          g_unknown = g_unknown + IFNULL(n.u, 0) - o.u
        FROM (SELECT IFNULL(kind = 'file' AND deleted = 0, 0) AS f,
                 CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END AS b,
                 IFNULL(kind = 'dir' AND deleted = 0, 0) AS d,
                 IFNULL(kind = 'symlink' AND deleted = 0, 0) AS s,
                 IFNULL(deleted = 1, 0) AS x,
                 kind IS NULL AS u,
                 1 AS p
          FROM records WHERE folder = OLD.folder AND substr(locator, 1, 8) = substr(OLD.locator, 1, 8) AND locator = OLD.locator
          ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC LIMIT 1) AS o
        LEFT JOIN (SELECT IFNULL(kind = 'file' AND deleted = 0, 0) AS f,
                 CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END AS b,
                 IFNULL(kind = 'dir' AND deleted = 0, 0) AS d,
                 IFNULL(kind = 'symlink' AND deleted = 0, 0) AS s,
                 IFNULL(deleted = 1, 0) AS x,
                 kind IS NULL AS u,
                 1 AS p
          FROM records WHERE folder = OLD.folder AND substr(locator, 1, 8) = substr(OLD.locator, 1, 8) AND locator = OLD.locator AND rowid <> OLD.rowid
          ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC LIMIT 1) AS n ON 1
        WHERE folder_totals.folder = OLD.folder;
      END;

      -- The totals count what a record says, which never changes in place (a new version is a new row).
      CREATE TRIGGER folder_totals_record_fixed BEFORE UPDATE OF folder, locator, version_key, last_writer, kind, size, mtime_ms, deleted ON records BEGIN
        SELECT RAISE(ABORT, 'records: what a record says is never updated in place');
      END;

      CREATE TRIGGER folder_totals_file_in AFTER INSERT ON files BEGIN
        UPDATE folder_totals SET
          l_files = l_files + (NEW.kind = 'file' AND NEW.deleted = 0),
          l_bytes = l_bytes + CASE WHEN NEW.kind = 'file' AND NEW.deleted = 0 THEN NEW.size ELSE 0 END,
          l_dirs = l_dirs + (NEW.kind = 'dir' AND NEW.deleted = 0),
          l_symlinks = l_symlinks + (NEW.kind = 'symlink' AND NEW.deleted = 0),
          l_deleted = l_deleted + (NEW.deleted = 1),
          l_changes = l_changes + (NEW.local_change = 1)
        WHERE folder = NEW.folder;
      END;

      CREATE TRIGGER folder_totals_file_out AFTER DELETE ON files BEGIN
        UPDATE folder_totals SET
          l_files = l_files - (OLD.kind = 'file' AND OLD.deleted = 0),
          l_bytes = l_bytes - CASE WHEN OLD.kind = 'file' AND OLD.deleted = 0 THEN OLD.size ELSE 0 END,
          l_dirs = l_dirs - (OLD.kind = 'dir' AND OLD.deleted = 0),
          l_symlinks = l_symlinks - (OLD.kind = 'symlink' AND OLD.deleted = 0),
          l_deleted = l_deleted - (OLD.deleted = 1),
          l_changes = l_changes - (OLD.local_change = 1)
        WHERE folder = OLD.folder;
      END;

      CREATE TRIGGER folder_totals_file_changed AFTER UPDATE ON files BEGIN
        UPDATE folder_totals SET
          l_files = l_files - (OLD.kind = 'file' AND OLD.deleted = 0),
          l_bytes = l_bytes - CASE WHEN OLD.kind = 'file' AND OLD.deleted = 0 THEN OLD.size ELSE 0 END,
          l_dirs = l_dirs - (OLD.kind = 'dir' AND OLD.deleted = 0),
          l_symlinks = l_symlinks - (OLD.kind = 'symlink' AND OLD.deleted = 0),
          l_deleted = l_deleted - (OLD.deleted = 1),
          l_changes = l_changes - (OLD.local_change = 1)
        WHERE folder = OLD.folder;
        UPDATE folder_totals SET
          l_files = l_files + (NEW.kind = 'file' AND NEW.deleted = 0),
          l_bytes = l_bytes + CASE WHEN NEW.kind = 'file' AND NEW.deleted = 0 THEN NEW.size ELSE 0 END,
          l_dirs = l_dirs + (NEW.kind = 'dir' AND NEW.deleted = 0),
          l_symlinks = l_symlinks + (NEW.kind = 'symlink' AND NEW.deleted = 0),
          l_deleted = l_deleted + (NEW.deleted = 1),
          l_changes = l_changes + (NEW.local_change = 1)
        WHERE folder = NEW.folder;
      END;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

// The SQLite adapter of the NodeSyncStore port: the cloud's per-node sync record (up position,
// journal ids) and `acked` map in one WAL file of their own, every write durable (synchronous=FULL).
//
// DESIGN.md ("Scaling past one machine") puts NodeSync into the Kubernetes API, one NodeSync object
// per node written with resourceVersion preconditions, so that several cloud processes can take
// nodes over. This is the single-process adapter of the same port: one cloud process owns the file.
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { err, invariant, ok, type Result } from '../../kernel/index.js';
import { nextNodeSyncRecord, objectsPerNodeMax, retiredJournalsMax, type AckedChange, type AckedEntry, type NodeSyncRecord, type NodeSyncStore, type Uid } from '../sync/index.js';

/** 'EHNS': marks a SQLite file as an edgehive NodeSync store (the journal is 'EDGH'). */
const applicationId = 0x45484e53;
const schemaVersion = 1;

/** Why a file could not be opened as a NodeSync store: typed, so the CLI can say it precisely. */
export type NodeSyncStoreOpenError =
  | { readonly kind: 'NotADatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'ForeignDatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'StoreCorrupt'; readonly path: string; readonly detail: string }
  | { readonly kind: 'UnsupportedSchema'; readonly path: string; readonly found: number; readonly supported: number }
  | { readonly kind: 'WalUnavailable'; readonly path: string; readonly mode: string };

/** One sentence a person can act on. */
export function describeNodeSyncStoreOpenError(error: NodeSyncStoreOpenError): string {
  switch (error.kind) {
    case 'NotADatabase':
      return `${error.path} is not an edgehive NodeSync store: not an SQLite database (${error.detail})`;
    case 'ForeignDatabase':
      return `${error.path} is not an edgehive NodeSync store: ${error.detail}`;
    case 'StoreCorrupt':
      return `NodeSync store ${error.path} is corrupt: ${error.detail}`;
    case 'UnsupportedSchema':
      return `NodeSync store ${error.path} has schema version ${error.found}; this edgehive reads up to ${error.supported}`;
    case 'WalUnavailable':
      return `NodeSync store ${error.path} could not switch to WAL mode (got '${error.mode}'); acknowledgements need WAL with synchronous=FULL`;
  }
}

/** What openNodeSyncStore checks at open. */
export interface NodeSyncStoreOptions {
  /** `quick` (default) runs SQLite's quick_check at open, so corruption is found before it bites. */
  readonly integrityCheck?: 'quick' | 'none';
}

interface RecordRow {
  journal_id: string;
  up_applied: number;
  retired_journal_ids: string;
}

interface AckedRow {
  uid: string;
  key: string;
  resource_version: string | null;
  content_hash: string | null;
}

const sqliteCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';

/**
 * Opens (or creates) the NodeSync store at `path`. A foreign, corrupt or newer file is reported as
 * a typed error, never replaced by an empty store.
 * @example
 * const opened = openNodeSyncStore(join(dataDir, 'node-sync.db'));
 * if (!opened.ok) throw new Error(describeNodeSyncStoreOpenError(opened.error));
 */
export function openNodeSyncStore(path: string, options: NodeSyncStoreOptions = {}): Result<SqliteNodeSyncStore, NodeSyncStoreOpenError> {
  if (existsSync(path) && statSync(path).isDirectory()) return err({ kind: 'NotADatabase', path, detail: 'it is a directory' });
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: false, fileMustExist: false });
    const checked = checkOrCreateSchema(db, path, options);
    if (!checked.ok) {
      db.close();
      return checked;
    }
    return ok(new SqliteNodeSyncStore(db));
  } catch (error) {
    db?.close();
    const code = sqliteCode(error);
    const detail = error instanceof Error ? error.message : String(error);
    if (code === 'SQLITE_NOTADB') return err({ kind: 'NotADatabase', path, detail });
    if (code.startsWith('SQLITE_CORRUPT')) return err({ kind: 'StoreCorrupt', path, detail });
    throw error;
  }
}

function checkOrCreateSchema(db: Database.Database, path: string, options: NodeSyncStoreOptions): Result<true, NodeSyncStoreOpenError> {
  db.pragma('busy_timeout = 5000');
  const tables = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get();
  const foundId = db.pragma('application_id', { simple: true }) as number;
  const empty = tables?.n === 0 && foundId === 0;
  if (!empty && foundId !== applicationId) {
    return err({ kind: 'ForeignDatabase', path, detail: `SQLite application_id is ${foundId}, not the NodeSync store's ${applicationId}` });
  }
  const found = db.pragma('user_version', { simple: true }) as number;
  if (!empty && found > schemaVersion) return err({ kind: 'UnsupportedSchema', path, found, supported: schemaVersion });
  const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
  if (mode !== 'wal') return err({ kind: 'WalUnavailable', path, mode });
  if (empty) createSchema(db);
  if ((options.integrityCheck ?? 'quick') === 'quick') {
    const result = db.pragma('quick_check(1)', { simple: true }) as string;
    if (result !== 'ok') return err({ kind: 'StoreCorrupt', path, detail: result });
  }
  db.pragma('synchronous = FULL');
  invariant(db.pragma('synchronous', { simple: true }) === 2, 'synchronous=FULL is in force: acks rest on it');
  return ok(true);
}

function createSchema(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`
      CREATE TABLE node_sync (
        node                TEXT    PRIMARY KEY,
        journal_id          TEXT    NOT NULL,
        up_applied          INTEGER NOT NULL,
        retired_journal_ids TEXT    NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE acked (
        node             TEXT NOT NULL,
        uid              TEXT NOT NULL,
        key              TEXT NOT NULL,
        resource_version TEXT,
        content_hash     TEXT,
        PRIMARY KEY (node, uid)
      ) WITHOUT ROWID;
    `);
    db.pragma(`application_id = ${applicationId}`);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}

function prepareStatements(db: Database.Database) {
  return {
    record: db.prepare<[string], RecordRow>('SELECT journal_id, up_applied, retired_journal_ids FROM node_sync WHERE node = ?'),
    putRecord: db.prepare<[string, string, number, string]>(
      `INSERT INTO node_sync (node, journal_id, up_applied, retired_journal_ids) VALUES (?, ?, ?, ?)
       ON CONFLICT (node) DO UPDATE SET journal_id = excluded.journal_id, up_applied = excluded.up_applied,
         retired_journal_ids = excluded.retired_journal_ids`,
    ),
    acked: db.prepare<[string], AckedRow>('SELECT uid, key, resource_version, content_hash FROM acked WHERE node = ? ORDER BY uid'),
    putAcked: db.prepare<[string, string, string, string | null, string | null]>(
      `INSERT INTO acked (node, uid, key, resource_version, content_hash) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node, uid) DO UPDATE SET key = excluded.key, resource_version = excluded.resource_version,
         content_hash = excluded.content_hash`,
    ),
    deleteAcked: db.prepare<[string, string]>('DELETE FROM acked WHERE node = ? AND uid = ?'),
    forgetRevisions: db.prepare<[string]>('UPDATE acked SET resource_version = NULL, content_hash = NULL WHERE node = ?'),
    nodes: db.prepare<[], { node: string }>('SELECT node FROM node_sync UNION SELECT node FROM acked ORDER BY node'),
  };
}

/**
 * The cloud's NodeSync records in one SQLite file. Every write is one transaction committed with
 * synchronous=FULL in WAL mode (checked at open) before its promise resolves.
 */
export class SqliteNodeSyncStore implements NodeSyncStore {
  readonly #db: Database.Database;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #path: string;
  #closed = false;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#path = db.name;
    this.#sql = prepareStatements(db);
  }

  /** The SQLite `journal_mode` and `synchronous` in force (always `wal` and `FULL`). */
  get durability(): { journalMode: string; synchronous: string } {
    const names = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: names[this.#db.pragma('synchronous', { simple: true }) as number] ?? 'unknown',
    };
  }

  async load(nodeName: string): Promise<{ readonly record: NodeSyncRecord | undefined; readonly acked: Iterable<readonly [Uid, AckedEntry]> }> {
    this.#assertOpen();
    return this.#db
      .transaction(() => {
        const record = this.#readRecord(nodeName);
        const acked = this.#sql.acked.all(nodeName).map((r) => [r.uid, { key: r.key, resourceVersion: r.resource_version, contentHash: r.content_hash }] as const);
        invariant(acked.length <= objectsPerNodeMax, 'acked records bounded per node');
        return { record, acked };
      })
      .deferred();
  }

  async recordUpApplied(nodeName: string, journalId: string, upApplied: number): Promise<void> {
    this.#assertOpen();
    invariant(Number.isInteger(upApplied) && upApplied >= 0, 'an applied up position is a natural number');
    invariant(journalId.length > 0, 'a journal id is never empty');
    this.#db
      .transaction(() => {
        const next = nextNodeSyncRecord(this.#readRecord(nodeName), journalId, upApplied);
        // A retired journal is a stale writer: it changes nothing.
        if (next === undefined) return;
        invariant(next.retiredJournalIds.length <= retiredJournalsMax, 'retired journals bounded');
        this.#sql.putRecord.run(nodeName, next.journalId, next.upApplied, JSON.stringify(next.retiredJournalIds));
      })
      .immediate();
  }

  async recordAcked(nodeName: string, changes: readonly AckedChange[]): Promise<void> {
    this.#assertOpen();
    invariant(changes.length <= objectsPerNodeMax, 'an acked change set is bounded by the objects a node may hold');
    this.#db
      .transaction(() => {
        for (const { uid, entry } of changes) {
          if (entry === null) this.#sql.deleteAcked.run(nodeName, uid);
          else this.#sql.putAcked.run(nodeName, uid, entry.key, entry.resourceVersion, entry.contentHash);
        }
      })
      .immediate();
  }

  async forgetAckedRevisions(nodeName: string): Promise<void> {
    this.#assertOpen();
    this.#sql.forgetRevisions.run(nodeName);
  }

  /** The nodes with a record or acked entries, by name. */
  async nodes(): Promise<readonly string[]> {
    this.#assertOpen();
    return this.#sql.nodes.all().map((r) => r.node);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #assertOpen(): void {
    invariant(!this.#closed, 'NodeSync store used after close');
  }

  #readRecord(nodeName: string): NodeSyncRecord | undefined {
    const row = this.#sql.record.get(nodeName);
    if (row === undefined) return undefined;
    return { journalId: row.journal_id, upApplied: row.up_applied, retiredJournalIds: this.#parseRetired(nodeName, row.retired_journal_ids) };
  }

  /** The stored list is this adapter's own JSON; anything else means the file was altered. */
  #parseRetired(nodeName: string, json: string): readonly string[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((id): id is string => typeof id === 'string')) {
      throw new Error(`NodeSync store ${this.#path} is corrupt: node ${nodeName}'s retired journal ids are ${json}`);
    }
    return parsed;
  }
}

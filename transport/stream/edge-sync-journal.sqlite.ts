// The SQLite adapter of the EdgeSyncJournal port: the edge's outbox, its sync bookkeeping and the
// desired objects it holds, kept in the same WAL file as its event journal so one transaction
// journals events and assigns their outbox seqs (PROTOCOL.md, Up).
import type Database from 'better-sqlite3';
import { err, invariant, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { NewEvent, SqliteEventStore, StreamAppend, StreamId, WrongExpectedVersion } from '../../journal/index.js';
import {
  objectsPerNodeMax,
  outboxEntriesPerCommitMax,
  type DesiredChange,
  type EdgeSyncJournal,
  type HeldObject,
  type ObjectKey,
  type OutboxCommit,
  type OutboxEntry,
  type WrongOutboxHead,
} from '../sync/index.js';

/**
 * The sync tables. `outbox` holds the entries after the floor, gap-free; `sync_meta` is one row;
 * `desired_objects` is a replaceable read-model table (like the Secrets table DESIGN.md names).
 *
 * DESIGN.md says the journal also holds the applied desired objects. They are held HERE, in
 * `desired_objects`, inside the journal file and committed with synchronous=FULL like events, and
 * nothing is appended to the event log for them: a desired object is the cloud's state, not an edge
 * fact, the newest revision is all the edge ever needs, and Secret contents must be deletable on
 * tombstone, which an append-only event payload is not. The actors that act on a desired object
 * journal their own decisions about it as ordinary events.
 */
const syncTablesSql = `
  CREATE TABLE IF NOT EXISTS outbox (
    seq   INTEGER PRIMARY KEY,
    type  TEXT    NOT NULL,
    data  TEXT    NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS sync_meta (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    outbox_floor INTEGER NOT NULL,
    cluster_id   TEXT
  );
  INSERT OR IGNORE INTO sync_meta (id, outbox_floor, cluster_id) VALUES (1, 0, NULL);
  CREATE TABLE IF NOT EXISTS desired_objects (
    key              TEXT PRIMARY KEY,
    uid              TEXT NOT NULL,
    resource_version TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    content          TEXT NOT NULL
  ) WITHOUT ROWID;
`;

/** The columns each sync table must have; a table of the same name without them is foreign. */
const expectedColumns: Readonly<Record<string, readonly string[]>> = {
  outbox: ['seq', 'type', 'data', 'bytes'],
  sync_meta: ['id', 'outbox_floor', 'cluster_id'],
  desired_objects: ['key', 'uid', 'resource_version', 'content_hash', 'content'],
};

/** Why a journal cannot carry the sync tables. */
export type EdgeSyncJournalOpenError =
  /** Acks rest on these commits: the journal must be in WAL mode with synchronous=FULL. */
  | { readonly kind: 'JournalNotDurable'; readonly journalMode: string; readonly synchronous: string }
  | { readonly kind: 'JournalReadOnly' }
  /** A table named like a sync table exists with other columns, or the outbox contradicts its floor. */
  | { readonly kind: 'SyncTablesForeign'; readonly detail: string };

/** One sentence a person can act on. */
export function describeEdgeSyncJournalOpenError(error: EdgeSyncJournalOpenError): string {
  switch (error.kind) {
    case 'JournalNotDurable':
      return `the edge journal runs journal_mode=${error.journalMode} synchronous=${error.synchronous}; acknowledgements need wal and FULL`;
    case 'JournalReadOnly':
      return 'the edge journal was opened read-only; the sync tables need a writable journal';
    case 'SyncTablesForeign':
      return `the edge journal's sync tables are not edgehive's: ${error.detail}`;
  }
}

/** A desired object as the edge holds it, content included. */
export interface StoredDesiredObject extends HeldObject {
  readonly key: ObjectKey;
  readonly content: JsonValue;
}

/** How the edge's sync journal maps the port's events onto the journal's streams. */
export interface EdgeSyncJournalOptions {
  /**
   * The stream each event of `commitWithOutbox` joins: the port's events name none. They are
   * appended with expected version `any`; a host that needs optimistic concurrency on its streams
   * calls `commitStreamsWithOutbox` instead.
   */
  readonly streamOf: (event: NewEvent) => StreamId;
}

interface OutboxRow {
  seq: number;
  type: string;
  data: string;
  bytes: number;
}

interface DesiredRow {
  key: string;
  uid: string;
  resource_version: string;
  content_hash: string;
  content: string;
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: Database.Database) {
  return {
    head: db.prepare<[], { head: number }>('SELECT coalesce((SELECT max(seq) FROM outbox), (SELECT outbox_floor FROM sync_meta WHERE id = 1)) AS head'),
    meta: db.prepare<[], { outbox_floor: number; cluster_id: string | null }>('SELECT outbox_floor, cluster_id FROM sync_meta WHERE id = 1'),
    outboxSpan: db.prepare<[], { first: number | null; last: number | null; entries: number }>('SELECT min(seq) AS first, max(seq) AS last, count(*) AS entries FROM outbox'),
    insertOutbox: db.prepare<[number, string, string, number]>('INSERT INTO outbox (seq, type, data, bytes) VALUES (?, ?, ?, ?)'),
    readOutbox: db.prepare<[number, number], OutboxRow>('SELECT seq, type, data, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
    deleteOutbox: db.prepare<[number]>('DELETE FROM outbox WHERE seq <= ?'),
    raiseFloor: db.prepare<[number]>('UPDATE sync_meta SET outbox_floor = max(outbox_floor, ?) WHERE id = 1'),
    recordCluster: db.prepare<[string]>('UPDATE sync_meta SET cluster_id = ? WHERE id = 1'),
    putDesired: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO desired_objects (key, uid, resource_version, content_hash, content) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version,
         content_hash = excluded.content_hash, content = excluded.content`,
    ),
    deleteDesired: db.prepare<[string]>('DELETE FROM desired_objects WHERE key = ?'),
    held: db.prepare<[], Omit<DesiredRow, 'content'>>('SELECT key, uid, resource_version, content_hash FROM desired_objects ORDER BY key'),
    heldWithContent: db.prepare<[], DesiredRow>('SELECT * FROM desired_objects ORDER BY key'),
    desiredContent: db.prepare<[string], { content: string }>('SELECT content FROM desired_objects WHERE key = ?'),
  };
}

/**
 * Adds the sync tables to an open, writable journal (creating them on first use) and returns the
 * edge's sync journal on it. The journal must run WAL with synchronous=FULL: acks rest on it.
 * @example
 * const journal = openSqliteJournal(path);
 * const sync = journal.ok ? openEdgeSyncJournal(journal.value, { streamOf: () => `node-${nodeName}` }) : journal;
 */
export function openEdgeSyncJournal(store: SqliteEventStore, options: EdgeSyncJournalOptions): Result<SqliteEdgeSyncJournal, EdgeSyncJournalOpenError> {
  const durability = store.durability;
  if (durability.journalMode !== 'wal' || durability.synchronous !== 'FULL') return err({ kind: 'JournalNotDurable', ...durability });
  if (store.readAlongside((db) => db.readonly)) return err({ kind: 'JournalReadOnly' });
  const foreign = store.readAlongside(foreignSyncTable);
  if (foreign !== undefined) return err({ kind: 'SyncTablesForeign', detail: foreign });
  const created = store.commitAlongside([], (db) => {
    db.exec(syncTablesSql);
    return ok(prepareStatements(db));
  });
  invariant(created.ok, 'creating the sync tables refuses nothing');
  const statements = created.value.value;
  const gap = store.readAlongside(() => outboxGap(statements));
  if (gap !== undefined) return err({ kind: 'SyncTablesForeign', detail: gap });
  return ok(new SqliteEdgeSyncJournal(store, statements, options));
}

/** Describes how the stored outbox breaks "gap-free, from just after its floor", if it does. */
function outboxGap(statements: Statements): string | undefined {
  const meta = statements.meta.get();
  const span = statements.outboxSpan.get();
  invariant(meta !== undefined && span !== undefined, 'sync_meta has its row from creation');
  if (span.entries === 0) return undefined;
  if (span.first !== meta.outbox_floor + 1) return `the outbox starts at ${span.first}, not just after its floor ${meta.outbox_floor}`;
  if (span.last !== null && span.entries !== span.last - meta.outbox_floor) return `the outbox has gaps: ${span.entries} entries from ${span.first} to ${span.last}`;
  return undefined;
}

/** Describes the first sync table that exists with other columns than edgehive's, if any. */
function foreignSyncTable(db: Database.Database): string | undefined {
  for (const [table, columns] of Object.entries(expectedColumns)) {
    const found = db.pragma(`table_info(${table})`) as { name: string }[];
    if (found.length === 0) continue;
    const names = found.map((c) => c.name);
    if (names.length !== columns.length || columns.some((c) => !names.includes(c))) {
      return `table ${table} has columns (${names.join(', ')}), expected (${columns.join(', ')})`;
    }
  }
  return undefined;
}

/**
 * The edge's sync journal on its SQLite event journal. Every write is one transaction of the
 * journal's connection, committed with synchronous=FULL in WAL mode (checked at open), so an ack
 * sent after a method resolves covers durable data.
 */
export class SqliteEdgeSyncJournal implements EdgeSyncJournal {
  readonly #store: SqliteEventStore;
  readonly #sql: Statements;
  readonly #options: EdgeSyncJournalOptions;

  constructor(store: SqliteEventStore, statements: Statements, options: EdgeSyncJournalOptions) {
    this.#store = store;
    this.#sql = statements;
    this.#options = options;
  }

  async loadSyncState(): Promise<{
    readonly journalId: string;
    readonly clusterId: string | null;
    readonly outboxHead: number;
    readonly outboxFloor: number;
    readonly held: Iterable<readonly [ObjectKey, HeldObject]>;
  }> {
    return this.#store.readAlongside(() => {
      const meta = this.#sql.meta.get();
      const head = this.#sql.head.get();
      invariant(meta !== undefined && head !== undefined, 'sync_meta has its row from creation');
      invariant(head.head >= meta.outbox_floor, 'the outbox head is at least its floor');
      const held = this.#sql.held.all().map((r) => [r.key, { uid: r.uid, resourceVersion: r.resource_version, contentHash: r.content_hash }] as const);
      invariant(held.length <= objectsPerNodeMax, 'held objects bounded per node');
      return { journalId: this.#store.journalId, clusterId: meta.cluster_id, outboxHead: head.head, outboxFloor: meta.outbox_floor, held };
    });
  }

  /** The port's commit: each event joins the stream `options.streamOf` names, with expected version `any`. */
  async commitWithOutbox(events: readonly NewEvent[], commit: OutboxCommit): Promise<Result<void, WrongOutboxHead>> {
    const byStream = new Map<StreamId, NewEvent[]>();
    for (const event of events) {
      const stream = this.#options.streamOf(event);
      byStream.set(stream, [...(byStream.get(stream) ?? []), event]);
    }
    const appends = [...byStream].map(([stream, grouped]) => ({ stream, expected: 'any' as const, events: grouped }));
    const committed = await this.commitStreamsWithOutbox(appends, commit);
    if (committed.ok) return ok(undefined);
    const refusal = committed.error;
    invariant(refusal.kind === 'WrongOutboxHead', "appends with expected version 'any' are never refused");
    return err(refusal);
  }

  /**
   * Appends `appends` to their streams (with their expected versions) and `commit.entries` to the
   * outbox in ONE transaction, or writes nothing: refused with WrongOutboxHead unless the outbox
   * head is `commit.after`, or with WrongExpectedVersion.
   */
  async commitStreamsWithOutbox(appends: readonly StreamAppend[], commit: OutboxCommit): Promise<Result<void, WrongOutboxHead | WrongExpectedVersion>> {
    assertContiguous(commit);
    const rows = commit.entries.map((e) => [e.seq, e.event.type, JSON.stringify(e.event.data), e.bytes] as const);
    const committed = this.#store.commitAlongside(appends, (): Result<void, WrongOutboxHead> => {
      const actual = this.#head();
      if (actual !== commit.after) return err({ kind: 'WrongOutboxHead', expected: commit.after, actual });
      for (const row of rows) this.#sql.insertOutbox.run(...row);
      return ok(undefined);
    });
    return committed.ok ? ok(undefined) : err(committed.error);
  }

  async readOutbox(after: number, framesMax: number, bytesMax: number): Promise<readonly OutboxEntry[]> {
    invariant(Number.isInteger(after) && after >= 0, 'an outbox position is a natural number');
    invariant(Number.isInteger(framesMax) && framesMax >= 0, 'framesMax is a natural number');
    const rows = this.#store.readAlongside(() => this.#sql.readOutbox.all(after, framesMax));
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (entries.length > 0 && bytes + row.bytes > bytesMax) break;
      const previous = entries.at(-1)?.seq;
      invariant(previous === undefined || row.seq === previous + 1, 'the outbox is gap-free');
      entries.push({ seq: row.seq, event: { type: row.type, data: JSON.parse(row.data) as JsonValue }, bytes: row.bytes });
      bytes += row.bytes;
    }
    return entries;
  }

  async compactOutbox(through: number): Promise<void> {
    invariant(Number.isInteger(through) && through >= 0, 'an outbox position is a natural number');
    const compacted = this.#store.commitAlongside([], () => {
      invariant(through <= this.#head(), 'only committed outbox entries are acknowledged and compacted');
      this.#sql.deleteOutbox.run(through);
      this.#sql.raiseFloor.run(through);
      return ok(undefined);
    });
    invariant(compacted.ok, 'compaction refuses nothing');
  }

  async commitDesired(changes: readonly DesiredChange[], clusterId: string | null): Promise<void> {
    invariant(changes.length <= objectsPerNodeMax, 'a desired commit is bounded by the objects a node may hold');
    // Serialized before the transaction, so a bad payload fails without holding the write lock.
    const rows = changes.map((c) => (c.op === 'put' ? { ...c, content: JSON.stringify(c.content) } : c));
    const committed = this.#store.commitAlongside([], () => {
      for (const row of rows) {
        if (row.op === 'delete') this.#sql.deleteDesired.run(row.key);
        else this.#sql.putDesired.run(row.key, row.uid, row.resourceVersion, row.contentHash, row.content);
      }
      if (clusterId !== null) this.#sql.recordCluster.run(clusterId);
      return ok(undefined);
    });
    invariant(committed.ok, 'a desired commit refuses nothing');
  }

  /** Every desired object the edge holds, with its content, by key (what the local API serves). */
  async heldObjects(): Promise<readonly StoredDesiredObject[]> {
    const rows = this.#store.readAlongside(() => this.#sql.heldWithContent.all());
    return rows.map((r) => ({ key: r.key, uid: r.uid, resourceVersion: r.resource_version, contentHash: r.content_hash, content: JSON.parse(r.content) as JsonValue }));
  }

  /** The content of the desired object at `key`, or undefined when the edge holds none. */
  async desiredContent(key: ObjectKey): Promise<JsonValue | undefined> {
    const row = this.#store.readAlongside(() => this.#sql.desiredContent.get(key));
    return row === undefined ? undefined : (JSON.parse(row.content) as JsonValue);
  }

  #head(): number {
    const row = this.#sql.head.get();
    invariant(row !== undefined, 'sync_meta has its row from creation');
    return row.head;
  }
}

function assertContiguous(commit: OutboxCommit): void {
  invariant(Number.isInteger(commit.after) && commit.after >= 0, 'an outbox position is a natural number');
  invariant(commit.entries.length >= 1, 'an outbox commit carries at least one entry');
  invariant(commit.entries.length <= outboxEntriesPerCommitMax, 'outbox commit bounded');
  commit.entries.forEach((entry, i) => invariant(entry.seq === commit.after + 1 + i, 'an outbox commit is contiguous after its head'));
}

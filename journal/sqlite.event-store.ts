// The SQLite adapter of the event-store port: one WAL file per host, durable commits
// (synchronous=FULL by default, since acknowledgements rest on them) and group commit.
import { existsSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { interval, merge, Observable, Subject, filter } from 'rxjs';
import { err, invariant, ok, type JsonValue, type Result } from '../kernel/index.js';
import {
  eventsPerAppendMax,
  type AppendResult,
  type CompactionReport,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type PositionRange,
  type ReadRange,
  type RecordedEvent,
  type SnapshotRecord,
  type StreamId,
  type StreamSummary,
  type WrongExpectedVersion,
} from './event-store.port.js';
import { followLog } from './follow-log.js';
import type { JournalOpenError } from './journal-errors.js';

/** 'EDGH': marks a SQLite file as an edgehive journal. */
const applicationId = 0x45444748;
const schemaVersion = 1;
const pageRowsMax = 500;

export interface SqliteJournalOptions {
  /** Open for reading only (replay); the file must exist and be a journal. */
  readonly readonly?: boolean;
  /** `FULL` (default) fsyncs every commit; acknowledgements must rest on it. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** When the events' bytes exceed this, covered history is compacted after an append. */
  readonly journalBytesMax?: number;
  /** Events at or above this position are never compacted (e.g. not yet acknowledged upstream). */
  readonly compactionFloor?: () => bigint;
  /** How often a subscription looks for appends made by other connections. */
  readonly pollIntervalMs?: number;
  /** `quick` (default) runs SQLite's quick_check at open, so corruption is found before it bites. */
  readonly integrityCheck?: 'quick' | 'none';
}

interface EventRow {
  position: number | bigint;
  stream: string;
  version: number;
  type: string;
  data: string;
  meta: string;
}

/** An event already serialized, so a bad payload fails its own append before any transaction. */
interface SerializedEvent {
  readonly type: string;
  readonly data: string;
  readonly meta: string;
}

/** One stream's part of a transaction: what `append` takes, already serialized. */
interface SerializedAppend {
  readonly stream: StreamId;
  readonly expected: ExpectedVersion;
  readonly events: readonly SerializedEvent[];
}

interface PendingAppend extends SerializedAppend {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** One stream's part of a `commitAlongside` transaction. */
export interface StreamAppend {
  readonly stream: StreamId;
  readonly expected: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

/** Where one stream of a `commitAlongside` transaction ended up. */
export interface StreamAppended {
  readonly stream: StreamId;
  readonly nextVersion: number;
  readonly position: bigint;
}

/** Carries a refusal out of a better-sqlite3 transaction function, which rolls back on any throw. */
class RolledBack {
  constructor(readonly error: unknown) {}
}

const serialize = (events: readonly NewEvent[]): SerializedEvent[] =>
  events.map((e) => ({ type: e.type, data: JSON.stringify(e.data), meta: JSON.stringify(e.meta) }));

const sqliteCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';

const toRecorded = (row: EventRow): RecordedEvent => ({
  stream: row.stream,
  version: row.version,
  position: BigInt(row.position),
  type: row.type,
  data: JSON.parse(row.data) as JsonValue,
  meta: JSON.parse(row.meta) as RecordedEvent['meta'],
});

const eventBytes = (stream: string, type: string, data: string, meta: string): number =>
  stream.length + type.length + data.length + meta.length + 24;

/**
 * Opens (or creates) a journal file. Errors are values: a missing, foreign or corrupt file is
 * reported, never silently replaced by an empty journal.
 */
export function openSqliteJournal(
  path: string,
  options: SqliteJournalOptions = {},
): Result<SqliteEventStore, JournalOpenError> {
  const readonly = options.readonly ?? false;
  if (readonly && !existsSync(path)) return err({ kind: 'JournalMissing', path });
  if (existsSync(path) && statSync(path).isDirectory()) {
    return err({ kind: 'NotADatabase', path, detail: 'it is a directory' });
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
    const checked = checkOrCreateSchema(db, path, options);
    if (!checked.ok) {
      db.close();
      return checked;
    }
    return ok(new SqliteEventStore(db, options));
  } catch (error) {
    db?.close();
    const code = sqliteCode(error);
    const detail = error instanceof Error ? error.message : String(error);
    if (code === 'SQLITE_NOTADB') return err({ kind: 'NotADatabase', path, detail });
    if (code.startsWith('SQLITE_CORRUPT')) return err({ kind: 'JournalCorrupt', path, detail });
    if (code === 'SQLITE_CANTOPEN') return err({ kind: 'JournalMissing', path });
    throw error;
  }
}

function checkOrCreateSchema(
  db: Database.Database,
  path: string,
  options: SqliteJournalOptions,
): Result<true, JournalOpenError> {
  const readonly = options.readonly ?? false;
  db.pragma('busy_timeout = 5000');
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
  const foundId = db.pragma('application_id', { simple: true }) as number;
  if (tables.n === 0 && foundId === 0) {
    if (readonly) return err({ kind: 'ForeignDatabase', path, detail: 'it is an empty SQLite database' });
    const wal = walMode(db, path);
    if (!wal.ok) return wal;
    createSchema(db);
  } else if (foundId !== applicationId) {
    return err({ kind: 'ForeignDatabase', path, detail: `SQLite application_id is ${foundId}, not edgehive's ${applicationId}` });
  } else {
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > schemaVersion) return err({ kind: 'UnsupportedSchema', path, found, supported: schemaVersion });
    if (!readonly) {
      const wal = walMode(db, path);
      if (!wal.ok) return wal;
    }
  }
  if ((options.integrityCheck ?? 'quick') === 'quick') {
    const result = db.pragma('quick_check(1)', { simple: true }) as string;
    if (result !== 'ok') return err({ kind: 'JournalCorrupt', path, detail: result });
  }
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  return ok(true);
}

function walMode(db: Database.Database, path: string): Result<true, JournalOpenError> {
  const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
  return mode === 'wal' ? ok(true) : err({ kind: 'WalUnavailable', path, mode });
}

function createSchema(db: Database.Database): void {
  // auto_vacuum must be chosen before the first table exists; it lets compaction give space back.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec(`
    CREATE TABLE events (
      position INTEGER PRIMARY KEY AUTOINCREMENT,
      stream   TEXT    NOT NULL,
      version  INTEGER NOT NULL,
      type     TEXT    NOT NULL,
      data     TEXT    NOT NULL,
      meta     TEXT    NOT NULL,
      UNIQUE (stream, version)
    );
    CREATE TABLE streams (
      stream            TEXT PRIMARY KEY,
      version           INTEGER NOT NULL,
      compacted_through INTEGER NOT NULL DEFAULT 0,
      bytes             INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE snapshots (
      stream  TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      state   TEXT    NOT NULL,
      at      TEXT    NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `);
  db.prepare('INSERT INTO journal_meta (key, value) VALUES (?, ?)').run('journalId', randomUUID());
  db.pragma(`application_id = ${applicationId}`);
  db.pragma(`user_version = ${schemaVersion}`);
}

export class SqliteEventStore implements EventStore {
  readonly #db: Database.Database;
  readonly #options: SqliteJournalOptions;
  readonly #appended = new Subject<void>();
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  #totalBytes: number;
  #closed = false;
  readonly #sql;

  constructor(db: Database.Database, options: SqliteJournalOptions) {
    this.#db = db;
    this.#options = options;
    this.#sql = {
      head: db.prepare<[string], { version: number }>('SELECT version FROM streams WHERE stream = ?'),
      insert: db.prepare('INSERT INTO events (stream, version, type, data, meta) VALUES (?, ?, ?, ?, ?)'),
      upsertStream: db.prepare(
        `INSERT INTO streams (stream, version, bytes) VALUES (?, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version, bytes = bytes + excluded.bytes`,
      ),
      readStream: db.prepare<[string, number, number, number], EventRow>(
        'SELECT * FROM events WHERE stream = ? AND version >= ? AND version <= ? ORDER BY version LIMIT ?',
      ),
      readAfter: db.prepare<[bigint, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      saveSnapshot: db.prepare(
        `INSERT INTO snapshots (stream, version, state, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version, state = excluded.state, at = excluded.at
         WHERE excluded.version >= snapshots.version`,
      ),
      loadSnapshot: db.prepare<[string], { stream: string; version: number; state: string; at: string }>(
        'SELECT * FROM snapshots WHERE stream = ?',
      ),
      summary: db.prepare<[string], { stream: string; version: number; compacted_through: number }>(
        'SELECT stream, version, compacted_through FROM streams WHERE stream = ?',
      ),
      listStreams: db.prepare<[string, number], { stream: string; version: number; compacted_through: number }>(
        'SELECT stream, version, compacted_through FROM streams WHERE stream > ? ORDER BY stream LIMIT ?',
      ),
      totalBytes: db.prepare<[], { total: number | null }>('SELECT sum(bytes) AS total FROM streams'),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    this.#totalBytes = this.#sql.totalBytes.get()?.total ?? 0;
  }

  /** Minted when the journal file was created; a new id tells the other side to resync fully. */
  get journalId(): string {
    const row = this.#db.prepare<[], { value: string }>("SELECT value FROM journal_meta WHERE key = 'journalId'").get();
    invariant(row !== undefined, 'a journal has an id from its creation');
    return row.value;
  }

  /** The global position of the newest event (0 when empty). */
  get lastPosition(): bigint {
    const row = this.#db.prepare<[], { last: number | bigint | null }>('SELECT max(position) AS last FROM events').get();
    return BigInt(row?.last ?? 0);
  }

  /** The bytes of event history held (data, meta, names); what `journalBytesMax` bounds. */
  get eventBytes(): number {
    return this.#totalBytes;
  }

  /** The SQLite `journal_mode` and `synchronous` actually in force, as benchmarks print them. */
  get durability(): { journalMode: string; synchronous: string } {
    const names = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: names[this.#db.pragma('synchronous', { simple: true }) as number] ?? 'unknown',
    };
  }

  append(stream: StreamId, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult> {
    invariant(!this.#closed, 'append on a closed journal');
    invariant(!(this.#options.readonly ?? false), 'append on a read-only journal');
    invariant(events.length > 0, 'an append carries at least one event');
    invariant(events.length <= eventsPerAppendMax, 'append batch bounded');
    let serialized: SerializedEvent[];
    try {
      serialized = serialize(events);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#pending.push({ stream, expected, events: serialized, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Group commit: appends issued in the same tick share one transaction and one fsync.
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /**
   * Runs `alongside` on this journal's connection and appends `appends`, all in ONE immediate
   * transaction, committed with the journal's synchronous setting. It exists for adapters that keep
   * their own tables in the journal file and must commit them atomically with events (the edge's
   * outbox, transport/stream). `alongside` runs first and may refuse by returning an error: that
   * error, or a wrong expected version of any stream, rolls the whole transaction back and is
   * returned. Appends still queued for group commit are committed before, so positions follow call
   * order. `alongside` must not open transactions of its own; it may read, write and create tables
   * other than the journal's (`events`, `streams`, `snapshots`, `journal_meta`).
   * @example
   * const r = store.commitAlongside([{ stream: 'node-edge-1', expected: 'any', events }], (db) => {
   *   db.prepare('INSERT INTO outbox (seq, type, data, bytes) VALUES (?, ?, ?, ?)').run(1, type, data, bytes);
   *   return ok(undefined);
   * });
   */
  commitAlongside<T, E>(
    appends: readonly StreamAppend[],
    alongside: (db: Database.Database) => Result<T, E>,
  ): Result<{ readonly value: T; readonly appended: readonly StreamAppended[] }, E | WrongExpectedVersion> {
    invariant(!this.#closed, 'commitAlongside on a closed journal');
    invariant(!(this.#options.readonly ?? false), 'commitAlongside on a read-only journal');
    for (const a of appends) invariant(a.events.length > 0 && a.events.length <= eventsPerAppendMax, 'each append carries 1 … eventsPerAppendMax events');
    const serialized = appends.map((a) => ({ stream: a.stream, expected: a.expected, events: serialize(a.events) }));
    this.#flush();
    const bytesBefore = this.#totalBytes;
    let committed: { readonly value: T; readonly appended: readonly StreamAppended[] };
    try {
      committed = this.#db.transaction(() => this.#runAlongside(serialized, alongside)).immediate();
    } catch (error) {
      this.#totalBytes = bytesBefore;
      if (error instanceof RolledBack) return err(error.error as E | WrongExpectedVersion);
      throw error;
    }
    if (committed.appended.length > 0) {
      this.#appended.next();
      this.#compactIfOverLimit();
    }
    return ok(committed);
  }

  /**
   * Runs `read` on this journal's connection inside one read transaction, so an adapter keeping its
   * own tables in the journal file (see commitAlongside) sees them consistently. `read` must not write.
   */
  readAlongside<T>(read: (db: Database.Database) => T): T {
    invariant(!this.#closed, 'readAlongside on a closed journal');
    return this.#db.transaction(() => read(this.#db)).deferred();
  }

  async *readStream(stream: StreamId, range: ReadRange = {}): AsyncIterable<RecordedEvent> {
    let from = range.from ?? 1;
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows = this.#sql.readStream.all(stream, from, to, pageRowsMax);
      for (const row of rows) yield toRecorded(row);
      if (rows.length < pageRowsMax) return;
      from = (rows.at(-1)?.version ?? to) + 1;
    }
  }

  async *readAll(range: PositionRange = {}): AsyncIterable<RecordedEvent> {
    let after = (range.fromPosition ?? 1n) - 1n;
    for (;;) {
      const batch = this.#readAfter(after, pageRowsMax);
      for (const event of batch) yield event;
      if (batch.length < pageRowsMax) return;
      after = batch.at(-1)?.position ?? after;
    }
  }

  subscribe(range: PositionRange = {}): Observable<RecordedEvent> {
    const pollIntervalMs = this.#options.pollIntervalMs ?? 200;
    let seenDataVersion = this.#sql.dataVersion.get();
    // data_version changes only when another connection commits: cheap cross-process tailing.
    const otherWriters = interval(pollIntervalMs).pipe(
      filter(() => {
        if (this.#closed) return false;
        const now = this.#sql.dataVersion.get();
        const changed = now !== seenDataVersion;
        seenDataVersion = now;
        return changed;
      }),
    );
    return followLog({
      after: (range.fromPosition ?? 1n) - 1n,
      readBatch: (after, limit) => (this.#closed ? [] : this.#readAfter(after, limit)),
      changes: merge(this.#appended, otherWriters),
    });
  }

  saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    const head = this.#sql.head.get(snapshot.stream)?.version ?? 0;
    invariant(snapshot.version >= 1 && snapshot.version <= head, 'a snapshot covers recorded events only');
    this.#sql.saveSnapshot.run(snapshot.stream, snapshot.version, JSON.stringify(snapshot.state), snapshot.at);
    return Promise.resolve();
  }

  loadSnapshot(stream: StreamId): Promise<SnapshotRecord | undefined> {
    const row = this.#sql.loadSnapshot.get(stream);
    return Promise.resolve(
      row === undefined ? undefined : { stream: row.stream, version: row.version, at: row.at, state: JSON.parse(row.state) as JsonValue },
    );
  }

  streamSummary(stream: StreamId): Promise<StreamSummary | undefined> {
    const row = this.#sql.summary.get(stream);
    return Promise.resolve(row === undefined ? undefined : { stream: row.stream, version: row.version, compactedThrough: row.compacted_through });
  }

  async *listStreams(): AsyncIterable<StreamSummary> {
    let after = '';
    for (;;) {
      const rows = this.#sql.listStreams.all(after, pageRowsMax);
      for (const row of rows) yield { stream: row.stream, version: row.version, compactedThrough: row.compacted_through };
      if (rows.length < pageRowsMax) return;
      after = rows.at(-1)?.stream ?? after;
    }
  }

  compact(options: { readonly floorPosition?: bigint } = {}): Promise<CompactionReport> {
    return Promise.resolve(this.#compactNow(options.floorPosition));
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flush();
    this.#closed = true;
    this.#appended.complete();
    this.#db.close();
    return Promise.resolve();
  }

  #readAfter(after: bigint, limit: number): RecordedEvent[] {
    return this.#sql.readAfter.all(after, limit).map(toRecorded);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let results: AppendResult[];
    try {
      results = this.#db.transaction(() => batch.map((p) => this.#appendInTransaction(p))).immediate();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i] as AppendResult));
    this.#appended.next();
    this.#compactIfOverLimit();
  }

  #runAlongside<T, E>(
    appends: readonly SerializedAppend[],
    alongside: (db: Database.Database) => Result<T, E>,
  ): { readonly value: T; readonly appended: readonly StreamAppended[] } {
    const done = alongside(this.#db);
    if (!done.ok) throw new RolledBack(done.error);
    const appended: StreamAppended[] = [];
    for (const a of appends) {
      const result = this.#appendInTransaction(a);
      if (!result.ok) throw new RolledBack(result.error);
      appended.push({ stream: a.stream, ...result.value });
    }
    return { value: done.value, appended };
  }

  #appendInTransaction(p: SerializedAppend): AppendResult {
    const actual = this.#sql.head.get(p.stream)?.version ?? 0;
    if (p.expected !== 'any' && p.expected !== actual) {
      return err({ kind: 'WrongExpectedVersion', stream: p.stream, expected: p.expected, actual });
    }
    let version = actual;
    let position = 0n;
    let bytes = 0;
    for (const event of p.events) {
      version += 1;
      const info = this.#sql.insert.run(p.stream, version, event.type, event.data, event.meta);
      position = BigInt(info.lastInsertRowid);
      bytes += eventBytes(p.stream, event.type, event.data, event.meta);
    }
    this.#sql.upsertStream.run(p.stream, version, bytes);
    this.#totalBytes += bytes;
    return ok({ nextVersion: version, position });
  }

  #compactIfOverLimit(): void {
    const max = this.#options.journalBytesMax;
    if (max === undefined || this.#totalBytes <= max) return;
    this.#compactNow(this.#options.compactionFloor?.());
  }

  #compactNow(floorPosition: bigint | undefined): CompactionReport {
    const bytesBefore = this.#totalBytes;
    const floor = floorPosition ?? BigInt(Number.MAX_SAFE_INTEGER);
    const report = this.#db
      .transaction(() => {
        const covered = this.#db
          .prepare<[], { stream: string; snap: number; head: number }>(
            `SELECT s.stream AS stream, s.version AS snap, st.version AS head
             FROM snapshots s JOIN streams st ON st.stream = s.stream
             WHERE s.version > st.compacted_through AND st.compacted_through < st.version - 1`,
          )
          .all();
        let streamsCompacted = 0;
        let eventsRemoved = 0;
        for (const { stream, snap, head } of covered) {
          // The newest event of a stream is always kept, so its version survives compaction.
          const through = Math.min(snap, head - 1);
          const removed = this.#db
            .prepare<[string, number, bigint], { version: number; stream: string; type: string; data: string; meta: string }>(
              'DELETE FROM events WHERE stream = ? AND version <= ? AND position < ? RETURNING version, stream, type, data, meta',
            )
            .all(stream, through, floor);
          if (removed.length === 0) continue;
          const bytes = removed.reduce((sum, r) => sum + eventBytes(r.stream, r.type, r.data, r.meta), 0);
          const highest = Math.max(...removed.map((r) => r.version));
          this.#db
            .prepare('UPDATE streams SET compacted_through = max(compacted_through, ?), bytes = bytes - ? WHERE stream = ?')
            .run(highest, bytes, stream);
          this.#totalBytes -= bytes;
          streamsCompacted += 1;
          eventsRemoved += removed.length;
        }
        return { streamsCompacted, eventsRemoved };
      })
      .immediate();
    if (report.eventsRemoved > 0) this.#db.pragma('incremental_vacuum');
    return { ...report, bytesBefore, bytesAfter: this.#totalBytes };
  }
}

// The embedded API server's storage (the role kine + SQLite play in K3s): one table of objects,
// a global resourceVersion counter kept in its own row and bumped inside each write's transaction
// (never derived from the objects, so versions never repeat after deletes or restarts), and a
// bounded change history that watches resume from, which records the version it was compacted to.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { err, invariant, ok, type JsonObject, type Result } from '../../kernel/index.js';

/** 'EDGK': marks a SQLite file as an edgehive API-server store. */
const applicationId = 0x4544474b;
const schemaVersion = 1;

/** Where one object lives: group ('' for core), plural resource, namespace ('' if cluster-scoped), name. */
export interface ObjectKey {
  readonly group: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

/** A resource type, optionally narrowed to one namespace. */
export interface ResourceScope {
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly rv: number;
  readonly type: ChangeType;
  readonly key: ObjectKey;
  /** The object after the change (for DELETED: its last state, carrying the deletion's version). */
  readonly object: JsonObject;
  /** For MODIFIED: the object before, so a selective watch can tell an object entering or leaving its selection. */
  readonly previous?: JsonObject;
}

export type StoreOpenError =
  | { readonly kind: 'ForeignDatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'NotADatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'UnsupportedSchema'; readonly path: string; readonly found: number };

export type WriteError =
  | { readonly kind: 'AlreadyExists'; readonly key: ObjectKey }
  | { readonly kind: 'NotFound'; readonly key: ObjectKey }
  | { readonly kind: 'Conflict'; readonly key: ObjectKey; readonly expected: string; readonly actual: string };

export interface ListPage {
  readonly items: readonly JsonObject[];
  /** The store's version when the page was read. */
  readonly rv: number;
  /** Set when more items follow: the last key of this page. */
  readonly continueAfter?: { readonly namespace: string; readonly name: string };
}

export interface PageRequest {
  readonly after?: { readonly namespace: string; readonly name: string };
  readonly limit?: number;
}

export interface ObjectStoreOptions {
  /** Changes kept for watches to resume from; older ones are compacted. */
  readonly historyMax?: number;
  readonly synchronous?: 'FULL' | 'NORMAL';
  /**
   * Where a new store's versions start (0 by default; ignored for an existing file). Everything up
   * to it counts as compacted, so a client holding a version from an earlier store (a view rebuilt
   * at every start, like the edge's MetaServer) gets 410 Expired and relists instead of waiting for
   * versions it has seen already.
   */
  readonly resourceVersionStart?: number;
}

interface ObjectRow {
  object: string;
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function openObjectStore(path: string, options: ObjectStoreOptions = {}): Result<ObjectStore, StoreOpenError> {
  const rvStart = options.resourceVersionStart ?? 0;
  invariant(Number.isSafeInteger(rvStart), 'resourceVersionStart is a safe integer');
  invariant(rvStart >= 0, 'resourceVersionStart is never negative');
  const isNew = !existsSync(path);
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  } catch (error) {
    return err({ kind: 'NotADatabase', path, detail: describe(error) });
  }
  try {
    const app = db.pragma('application_id', { simple: true }) as number;
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (isNew || (app === 0 && tables.n === 0)) {
      db.exec(`
        CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), rv INTEGER NOT NULL, compacted_rv INTEGER NOT NULL);
        CREATE TABLE objects (
          api_group TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          rv INTEGER NOT NULL, object TEXT NOT NULL,
          PRIMARY KEY (api_group, resource, namespace, name)) WITHOUT ROWID;
        CREATE TABLE changes (
          rv INTEGER PRIMARY KEY, type TEXT NOT NULL,
          api_group TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          object TEXT NOT NULL, previous TEXT);
      `);
      db.prepare('INSERT INTO counter VALUES (1, ?, ?)').run(rvStart, rvStart);
      db.pragma(`application_id = ${applicationId}`);
      db.pragma(`user_version = ${schemaVersion}`);
    } else if (app !== applicationId) {
      db.close();
      return err({ kind: 'ForeignDatabase', path, detail: `application_id ${app} is not edgehive's API store` });
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== schemaVersion) {
      db.close();
      return err({ kind: 'UnsupportedSchema', path, found: version });
    }
  } catch (error) {
    db.close();
    return err({ kind: 'NotADatabase', path, detail: describe(error) });
  }
  return ok(new ObjectStore(db, options.historyMax ?? 10_000));
}

/**
 * Every write runs in one IMMEDIATE transaction: bump the counter, stamp the object with the new
 * resourceVersion, write it, record the change, trim the history. Listeners hear of a change only
 * after its commit.
 */
export class ObjectStore {
  readonly #db: Database.Database;
  readonly #historyMax: number;
  readonly #listeners = new Set<(change: Change) => void>();
  readonly #statements;

  constructor(db: Database.Database, historyMax: number) {
    this.#db = db;
    this.#historyMax = historyMax;
    this.#statements = {
      bump: db.prepare('UPDATE counter SET rv = rv + 1 WHERE id = 1 RETURNING rv'),
      counter: db.prepare('SELECT rv, compacted_rv AS compactedRv FROM counter WHERE id = 1'),
      get: db.prepare('SELECT object FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?'),
      upsert: db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (api_group, resource, namespace, name) DO UPDATE SET rv = excluded.rv, object = excluded.object'),
      remove: db.prepare('DELETE FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?'),
      record: db.prepare('INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      trim: db.prepare('DELETE FROM changes WHERE rv <= ?'),
      compactTo: db.prepare('UPDATE counter SET compacted_rv = ? WHERE id = 1 AND compacted_rv < ?'),
      listAll: db.prepare('SELECT namespace, name, object FROM objects WHERE api_group = ? AND resource = ? AND (namespace, name) > (?, ?) ORDER BY namespace, name LIMIT ?'),
      listNamespace: db.prepare('SELECT namespace, name, object FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?'),
      changesSince: db.prepare('SELECT rv, type, api_group AS "group", resource, namespace, name, object, previous FROM changes WHERE rv > ? ORDER BY rv'),
    };
  }

  /** The newest resourceVersion handed out. */
  get rv(): number {
    return (this.#statements.counter.get() as { rv: number }).rv;
  }

  /** Changes at or below this version are gone from the history: watching from them gets 410. */
  get compactedRv(): number {
    return (this.#statements.counter.get() as { compactedRv: number }).compactedRv;
  }

  get(key: ObjectKey): JsonObject | undefined {
    const row = this.#statements.get.get(key.group, key.resource, key.namespace, key.name) as ObjectRow | undefined;
    return row === undefined ? undefined : (JSON.parse(row.object) as JsonObject);
  }

  /** One page in (namespace, name) order, read in one transaction so `rv` matches the items. */
  list(scope: ResourceScope, page: PageRequest = {}): ListPage {
    const texts = this.listTexts(scope, page);
    return { ...texts, items: texts.texts.map((text) => JSON.parse(text) as JsonObject) };
  }

  /** The same page as stored JSON text, for answers that need not look inside the objects. */
  listTexts(scope: ResourceScope, page: PageRequest = {}): Omit<ListPage, 'items'> & { readonly texts: readonly string[] } {
    const limit = page.limit ?? Number.MAX_SAFE_INTEGER;
    return this.#db.transaction(() => {
      const rv = this.rv;
      const rows = (
        scope.namespace === undefined
          ? this.#statements.listAll.all(scope.group, scope.resource, page.after?.namespace ?? '', page.after?.name ?? '', Math.min(limit + 1, Number.MAX_SAFE_INTEGER))
          : this.#statements.listNamespace.all(scope.group, scope.resource, scope.namespace, page.after?.name ?? '', Math.min(limit + 1, Number.MAX_SAFE_INTEGER))
      ) as { namespace: string; name: string; object: string }[];
      const kept = rows.slice(0, limit);
      const last = kept[kept.length - 1];
      const texts = kept.map((row) => row.object);
      return rows.length > limit && last !== undefined ? { texts, rv, continueAfter: { namespace: last.namespace, name: last.name } } : { texts, rv };
    })();
  }

  /** Creates `key`; `build` receives the new resourceVersion to stamp into the object. */
  create(key: ObjectKey, build: (rv: number) => JsonObject): Result<JsonObject, WriteError> {
    const written = this.#db.transaction((): Result<Change, WriteError> => {
      if (this.get(key) !== undefined) return err({ kind: 'AlreadyExists', key });
      return ok(this.#write(key, 'ADDED', build));
    }).immediate();
    return this.#publish(written);
  }

  /**
   * Replaces `key` with what `build` makes of the current object. `expectedRv` (the client's
   * metadata.resourceVersion) must match when given: optimistic concurrency, 409 otherwise.
   * `build` may decline (an error value) after seeing the current object.
   */
  update<E>(key: ObjectKey, expectedRv: string | undefined, build: (current: JsonObject, rv: number) => Result<JsonObject, E>): Result<JsonObject, WriteError | E> {
    const write = this.#db.transaction((): Result<Change, WriteError> => {
      const current = this.get(key);
      if (current === undefined) return err({ kind: 'NotFound', key });
      const actual = resourceVersionOf(current);
      if (expectedRv !== undefined && expectedRv !== '' && expectedRv !== actual) return err({ kind: 'Conflict', key, expected: expectedRv, actual });
      return ok(
        this.#write(
          key,
          'MODIFIED',
          (rv) => {
            const built = build(current, rv);
            // Throwing rolls the transaction back, counter bump included.
            if (!built.ok) throw new DeclinedWrite(built.error);
            return built.value;
          },
          current,
        ),
      );
    });
    try {
      return this.#publish(write.immediate());
    } catch (error) {
      if (error instanceof DeclinedWrite) return err(error.reason as E);
      throw error;
    }
  }

  /** Removes `key`; the DELETED change carries `last` (the object as deleted) stamped with the new version. */
  delete(key: ObjectKey, expectedRv: string | undefined, last?: (current: JsonObject, rv: number) => JsonObject): Result<JsonObject, WriteError> {
    const written = this.#db.transaction((): Result<Change, WriteError> => {
      const current = this.get(key);
      if (current === undefined) return err({ kind: 'NotFound', key });
      const actual = resourceVersionOf(current);
      if (expectedRv !== undefined && expectedRv !== '' && expectedRv !== actual) return err({ kind: 'Conflict', key, expected: expectedRv, actual });
      const rv = (this.#statements.bump.get() as { rv: number }).rv;
      const object = last === undefined ? withResourceVersion(current, rv) : last(current, rv);
      this.#statements.remove.run(key.group, key.resource, key.namespace, key.name);
      return ok(this.#record({ rv, type: 'DELETED', key, object }));
    }).immediate();
    return this.#publish(written);
  }

  /** Changes after `rv`, or Gone when the history no longer reaches back that far. */
  changesSince(rv: number): Result<readonly Change[], { readonly kind: 'Gone'; readonly compactedRv: number }> {
    return this.#db.transaction(() => {
      const compactedRv = this.compactedRv;
      if (rv < compactedRv) return err({ kind: 'Gone' as const, compactedRv });
      const rows = this.#statements.changesSince.all(rv) as { rv: number; type: ChangeType; group: string; resource: string; namespace: string; name: string; object: string; previous: string | null }[];
      return ok(
        rows.map((r) => ({
          rv: r.rv,
          type: r.type,
          key: { group: r.group, resource: r.resource, namespace: r.namespace, name: r.name },
          object: JSON.parse(r.object) as JsonObject,
          ...(r.previous === null ? {} : { previous: JSON.parse(r.previous) as JsonObject }),
        })),
      );
    })();
  }

  /** Hears every committed change, in order. */
  onChange(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
    this.#db.close();
  }

  #write(key: ObjectKey, type: ChangeType, build: (rv: number) => JsonObject, previous?: JsonObject): Change {
    const rv = (this.#statements.bump.get() as { rv: number }).rv;
    const object = withResourceVersion(build(rv), rv);
    this.#statements.upsert.run(key.group, key.resource, key.namespace, key.name, rv, JSON.stringify(object));
    return this.#record({ rv, type, key, object, ...(previous === undefined ? {} : { previous }) });
  }

  #record(change: Change): Change {
    this.#statements.record.run(change.rv, change.type, change.key.group, change.key.resource, change.key.namespace, change.key.name, JSON.stringify(change.object), change.previous === undefined ? null : JSON.stringify(change.previous));
    const floor = change.rv - this.#historyMax;
    if (floor > 0 && change.rv % 64 === 0) {
      // Trimmed in batches; the compacted version moves first so a watch never misses a change silently.
      this.#statements.compactTo.run(floor, floor);
      this.#statements.trim.run(floor);
    }
    return change;
  }

  #publish<E>(written: Result<Change, E>): Result<JsonObject, E> {
    if (!written.ok) return written;
    for (const listener of this.#listeners) listener(written.value);
    return ok(written.value.object);
  }
}

/** Thrown inside a transaction to roll it back when `build` declines; caught right outside. */
class DeclinedWrite extends Error {
  constructor(readonly reason: unknown) {
    super('write declined');
  }
}

export const resourceVersionOf = (object: JsonObject): string => String(((object['metadata'] ?? {}) as { resourceVersion?: string }).resourceVersion ?? '');

const withResourceVersion = (object: JsonObject, rv: number): JsonObject => ({
  ...object,
  metadata: { ...((object['metadata'] ?? {}) as JsonObject), resourceVersion: String(rv) },
});

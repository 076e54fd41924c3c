// The API server's object store on a real SQLite file. Method: given a store in a temp dir (and the
// writes named in each `describe`), when a write, read, list or history query runs, then the
// result value, the counter, the history and what listeners heard are exactly what a kube-apiserver
// backed by etcd would show; files that are not stores are refused with typed errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { err, ok, type JsonObject } from '../../kernel/index.js';
import { openObjectStore, type Change, type ObjectKey, type ObjectStore, type ObjectStoreOptions } from './object-store.js';

let dir: string;
const opened: ObjectStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-object-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) {
    try {
      store.close();
    } catch {
      // Closed by the test already.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const storePath = (): string => join(dir, 'apiserver.db');

function openStore(options: ObjectStoreOptions = {}, path = storePath()): ObjectStore {
  const result = openObjectStore(path, options);
  if (!result.ok) throw new Error(`expected a store at ${path}, got ${result.error.kind}`);
  opened.push(result.value);
  return result.value;
}

const configMapKey = (name: string, namespace = 'default'): ObjectKey => ({ group: '', resource: 'configmaps', namespace, name });

const configMap = (key: ObjectKey, data: Record<string, string> = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: key.name, namespace: key.namespace },
  data,
});

const rvOf = (object: JsonObject): string => String((object['metadata'] as { resourceVersion?: string }).resourceVersion);

function createOrFail(store: ObjectStore, key: ObjectKey, data: Record<string, string> = {}): JsonObject {
  const created = store.create(key, () => configMap(key, data));
  if (!created.ok) throw new Error(`expected to create ${key.name}, got ${created.error.kind}`);
  return created.value;
}

function deleteOrFail(store: ObjectStore, key: ObjectKey): JsonObject {
  const deleted = store.delete(key, undefined);
  if (!deleted.ok) throw new Error(`expected to delete ${key.name}, got ${deleted.error.kind}`);
  return deleted.value;
}

const namesOf = (items: readonly JsonObject[]): string[] =>
  items.map((o) => {
    const meta = o['metadata'] as { namespace: string; name: string };
    return `${meta.namespace}/${meta.name}`;
  });

describe('given a new store file', () => {
  it('hands out resourceVersions 1, 2, 3 from the counter, in write order', () => {
    const store = openStore();
    expect(store.rv).toBe(0);
    const rvs = ['a', 'b', 'c'].map((name) => rvOf(createOrFail(store, configMapKey(name))));
    expect(rvs).toEqual(['1', '2', '3']);
    expect(store.rv).toBe(3);
    expect(store.get(configMapKey('b'))).toMatchObject({ metadata: { name: 'b', resourceVersion: '2' } });
  });

  it('never hands out a resourceVersion twice after the newest object is deleted', () => {
    const store = openStore();
    createOrFail(store, configMapKey('a'));
    createOrFail(store, configMapKey('b'));
    const deleted = deleteOrFail(store, configMapKey('b'));
    expect(rvOf(deleted)).toBe('3');
    expect(rvOf(createOrFail(store, configMapKey('c')))).toBe('4');
    expect(rvOf(createOrFail(store, configMapKey('b')))).toBe('5');
  });

  it('never hands out a resourceVersion twice after every object is deleted and the file is reopened', () => {
    const seen: string[] = [];
    const first = openStore();
    for (const name of ['a', 'b', 'c']) seen.push(rvOf(createOrFail(first, configMapKey(name))));
    for (const name of ['a', 'b', 'c']) seen.push(rvOf(deleteOrFail(first, configMapKey(name))));
    first.close();

    const reopened = openStore();
    expect(reopened.rv).toBe(6);
    expect(reopened.list({ group: '', resource: 'configmaps' }).items).toEqual([]);
    seen.push(rvOf(createOrFail(reopened, configMapKey('a'))));
    reopened.close();

    const third = openStore();
    seen.push(rvOf(createOrFail(third, configMapKey('d'))));
    expect(seen).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });
});

describe('given a new store with resourceVersionStart 1000 (a view rebuilt at every start)', () => {
  it('hands out versions after it, and a version from before it is Gone', () => {
    const store = openStore({ resourceVersionStart: 1000 });
    expect(store.rv).toBe(1000);
    expect(store.compactedRv).toBe(1000);
    expect(rvOf(createOrFail(store, configMapKey('a')))).toBe('1001');
    expect(store.changesSince(999)).toEqual(err({ kind: 'Gone', compactedRv: 1000 }));
    expect(store.changesSince(1000)).toMatchObject(ok([{ rv: 1001, type: 'ADDED' }]));
  });

  it('an existing file keeps its own counter', () => {
    createOrFail(openStore(), configMapKey('a'));
    const reopened = openStore({ resourceVersionStart: 1000 });
    expect(reopened.rv).toBe(1);
    expect(reopened.compactedRv).toBe(0);
  });
});

describe('given a ConfigMap at resourceVersion 1', () => {
  let store: ObjectStore;
  const key = configMapKey('settings');
  beforeEach(() => {
    store = openStore();
    createOrFail(store, key, { mode: 'eco' });
  });

  it('an update that names the current resourceVersion is written with the next one', () => {
    const updated = store.update(key, '1', (current) => ok({ ...current, data: { mode: 'turbo' } }));
    expect(updated).toMatchObject({ ok: true, value: { data: { mode: 'turbo' }, metadata: { resourceVersion: '2' } } });
    expect(store.get(key)).toMatchObject({ data: { mode: 'turbo' }, metadata: { resourceVersion: '2' } });
  });

  it('an update that names a stale resourceVersion is a Conflict value and changes nothing', () => {
    store.update(key, '1', (current) => ok({ ...current, data: { mode: 'turbo' } }));
    const stale = store.update(key, '1', (current) => ok({ ...current, data: { mode: 'off' } }));
    expect(stale).toEqual({ ok: false, error: { kind: 'Conflict', key, expected: '1', actual: '2' } });
    expect(store.get(key)).toMatchObject({ data: { mode: 'turbo' }, metadata: { resourceVersion: '2' } });
    expect(store.rv).toBe(2);
  });

  it('a delete that names a stale resourceVersion is a Conflict value and keeps the object', () => {
    expect(store.delete(key, '7')).toEqual({ ok: false, error: { kind: 'Conflict', key, expected: '7', actual: '1' } });
    expect(store.get(key)).toBeDefined();
    expect(store.rv).toBe(1);
  });

  it('creating it again is AlreadyExists, and the counter does not move', () => {
    expect(store.create(key, () => configMap(key))).toEqual({ ok: false, error: { kind: 'AlreadyExists', key } });
    expect(store.rv).toBe(1);
  });

  it('updating or deleting a name that does not exist is NotFound', () => {
    const missing = configMapKey('missing');
    expect(store.update(missing, undefined, (current) => ok(current))).toEqual({ ok: false, error: { kind: 'NotFound', key: missing } });
    expect(store.delete(missing, undefined)).toEqual({ ok: false, error: { kind: 'NotFound', key: missing } });
    expect(store.get(missing)).toBeUndefined();
    expect(store.rv).toBe(1);
  });

  it('an update whose build declines returns the reason and rolls back, counter bump included', () => {
    const heard: Change[] = [];
    store.onChange((change) => heard.push(change));
    const declined = store.update(key, undefined, () => err({ kind: 'ImmutableField', field: 'data.mode' }));
    expect(declined).toEqual({ ok: false, error: { kind: 'ImmutableField', field: 'data.mode' } });
    expect(store.rv).toBe(1);
    expect(store.get(key)).toMatchObject({ data: { mode: 'eco' }, metadata: { resourceVersion: '1' } });
    expect(store.changesSince(1)).toEqual({ ok: true, value: [] });
    expect(heard).toEqual([]);
    expect(rvOf(createOrFail(store, configMapKey('next')))).toBe('2');
  });
});

describe('given ConfigMaps in several namespaces and a Secret, written out of order', () => {
  let store: ObjectStore;
  beforeEach(() => {
    store = openStore();
    for (const [namespace, name] of [['edge', 'b'], ['default', 'z'], ['alpha', 'm'], ['edge', 'a'], ['default', 'a'], ['edge', 'c']] as const) {
      createOrFail(store, configMapKey(name, namespace));
    }
    store.create({ group: '', resource: 'secrets', namespace: 'default', name: 'token' }, () => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'default' } }));
  });

  it('lists every ConfigMap in (namespace, name) order at the store version', () => {
    const page = store.list({ group: '', resource: 'configmaps' });
    expect(namesOf(page.items)).toEqual(['alpha/m', 'default/a', 'default/z', 'edge/a', 'edge/b', 'edge/c']);
    expect(page.rv).toBe(7);
    expect(page.continueAfter).toBeUndefined();
  });

  it('pages of 2 continue after the last key and together hold every item once', () => {
    const pages: string[][] = [];
    let after: { namespace: string; name: string } | undefined;
    for (let i = 0; i < 10; i++) {
      const page = store.list({ group: '', resource: 'configmaps' }, { limit: 2, ...(after === undefined ? {} : { after }) });
      pages.push(namesOf(page.items));
      after = page.continueAfter;
      if (after === undefined) break;
    }
    expect(pages).toEqual([
      ['alpha/m', 'default/a'],
      ['default/z', 'edge/a'],
      ['edge/b', 'edge/c'],
    ]);
  });

  it('a page that ends exactly at the last item has no continuation', () => {
    const page = store.list({ group: '', resource: 'configmaps', namespace: 'edge' }, { limit: 3 });
    expect(namesOf(page.items)).toEqual(['edge/a', 'edge/b', 'edge/c']);
    expect(page.continueAfter).toBeUndefined();
  });

  it('lists one namespace in name order and pages within it', () => {
    const first = store.list({ group: '', resource: 'configmaps', namespace: 'edge' }, { limit: 2 });
    expect(namesOf(first.items)).toEqual(['edge/a', 'edge/b']);
    expect(first.continueAfter).toEqual({ namespace: 'edge', name: 'b' });
    const rest = store.list({ group: '', resource: 'configmaps', namespace: 'edge' }, { limit: 2, ...(first.continueAfter === undefined ? {} : { after: first.continueAfter }) });
    expect(namesOf(rest.items)).toEqual(['edge/c']);
    expect(rest.continueAfter).toBeUndefined();
  });
});

describe('given a create, an update and a delete', () => {
  it('changesSince returns them in resourceVersion order, the delete carrying its own version', () => {
    const store = openStore();
    const key = configMapKey('a');
    createOrFail(store, key, { v: '1' });
    store.update(key, undefined, (current) => ok({ ...current, data: { v: '2' } }));
    deleteOrFail(store, key);
    const changes = store.changesSince(0);
    expect(changes.ok).toBe(true);
    if (!changes.ok) return;
    expect(changes.value.map((c) => [c.rv, c.type, c.key.name, rvOf(c.object)])).toEqual([
      [1, 'ADDED', 'a', '1'],
      [2, 'MODIFIED', 'a', '2'],
      [3, 'DELETED', 'a', '3'],
    ]);
    expect(changes.value[2]?.object).toMatchObject({ data: { v: '2' } });
    expect(store.changesSince(2)).toMatchObject({ ok: true, value: [{ rv: 3, type: 'DELETED' }] });
    expect(store.changesSince(3)).toEqual({ ok: true, value: [] });
  });
});

describe('given historyMax 10 and 70 writes', () => {
  const write70 = (store: ObjectStore): void => {
    const key = configMapKey('churn');
    createOrFail(store, key, { n: '0' });
    for (let n = 1; n < 70; n++) store.update(key, undefined, (current) => ok({ ...current, data: { n: String(n) } }));
  };

  it('the history is compacted, and asking from before it is Gone with the compacted version', () => {
    const store = openStore({ historyMax: 10 });
    write70(store);
    expect(store.rv).toBe(70);
    const compactedRv = store.compactedRv;
    expect(compactedRv).toBeGreaterThan(0);
    expect(store.rv - compactedRv).toBeGreaterThanOrEqual(10);
    expect(store.changesSince(0)).toEqual({ ok: false, error: { kind: 'Gone', compactedRv } });
    expect(store.changesSince(compactedRv - 1)).toEqual({ ok: false, error: { kind: 'Gone', compactedRv } });
  });

  it('asking from the compacted version or later returns every change after it, without gaps', () => {
    const store = openStore({ historyMax: 10 });
    write70(store);
    const compactedRv = store.compactedRv;
    const changes = store.changesSince(compactedRv);
    expect(changes.ok).toBe(true);
    if (!changes.ok) return;
    const expected = Array.from({ length: 70 - compactedRv }, (_, i) => compactedRv + 1 + i);
    expect(changes.value.map((c) => c.rv)).toEqual(expected);
  });

  it('the compacted version survives reopening the file', () => {
    const store = openStore({ historyMax: 10 });
    write70(store);
    const compactedRv = store.compactedRv;
    store.close();
    const reopened = openStore({ historyMax: 10 });
    expect(reopened.compactedRv).toBe(compactedRv);
    expect(reopened.changesSince(1)).toEqual({ ok: false, error: { kind: 'Gone', compactedRv } });
  });
});

describe('given a listener', () => {
  it('hears each committed change once, in order, after it is visible to reads', () => {
    const store = openStore();
    const key = configMapKey('a');
    const heard: string[] = [];
    store.onChange((change) => {
      const visible = store.get(change.key);
      heard.push(`${change.rv} ${change.type} ${change.key.name} ${visible === undefined ? 'gone' : rvOf(visible)}`);
    });
    createOrFail(store, key);
    store.update(key, undefined, (current) => ok({ ...current, data: { x: '1' } }));
    deleteOrFail(store, key);
    expect(heard).toEqual(['1 ADDED a 1', '2 MODIFIED a 2', '3 DELETED a gone']);
  });

  it('hears nothing of refused writes: AlreadyExists, NotFound, Conflict, declined', () => {
    const store = openStore();
    const key = configMapKey('a');
    createOrFail(store, key);
    const heard: Change[] = [];
    store.onChange((change) => heard.push(change));
    store.create(key, () => configMap(key));
    store.update(configMapKey('missing'), undefined, (current) => ok(current));
    store.delete(configMapKey('missing'), undefined);
    store.update(key, '99', (current) => ok(current));
    store.delete(key, '99');
    store.update(key, undefined, () => err('no'));
    expect(heard).toEqual([]);
  });

  it('hears nothing once unsubscribed', () => {
    const store = openStore();
    const heard: number[] = [];
    const unsubscribe = store.onChange((change) => heard.push(change.rv));
    createOrFail(store, configMapKey('a'));
    unsubscribe();
    createOrFail(store, configMapKey('b'));
    expect(heard).toEqual([1]);
  });
});

describe('given a file that is not an edgehive API store', () => {
  it("another application's SQLite database is ForeignDatabase and keeps its tables", () => {
    const path = join(dir, 'other.db');
    const other = new Database(path);
    other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada')");
    other.close();
    expect(openObjectStore(path)).toMatchObject({ ok: false, error: { kind: 'ForeignDatabase', path } });
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT name FROM customers').pluck().all()).toEqual(['ada']);
    check.close();
  });

  it('a text file is NotADatabase and is left untouched', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello, I am a text file and definitely not SQLite\n'.repeat(100));
    const before = readFileSync(path);
    expect(openObjectStore(path)).toMatchObject({ ok: false, error: { kind: 'NotADatabase', path } });
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a store from a newer schema is UnsupportedSchema naming the version found', () => {
    const path = storePath();
    openStore({}, path).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(openObjectStore(path)).toEqual({ ok: false, error: { kind: 'UnsupportedSchema', path, found: 99 } });
  });
});

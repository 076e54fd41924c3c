// The cloud's NodeSync store on a real SQLite file. Method: given a store in a temp dir and the
// records written to it, when positions and acks are recorded, revisions forgotten or the file is
// reopened, then each node's record and acked map are those of the simulated NodeSync
// (properties/stream-cloud-host.testing.ts); foreign and corrupt files are typed errors.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteJournal } from '../../journal/index.js';
import { retiredJournalsMax, type AckedChange, type AckedEntry, type NodeSyncRecord } from '../sync/index.js';
import { describeNodeSyncStoreOpenError, openNodeSyncStore, type SqliteNodeSyncStore } from './node-sync-store.sqlite.js';

let dir: string;
let path: string;
const opened: SqliteNodeSyncStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-node-sync-'));
  path = join(dir, 'node-sync.db');
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(): SqliteNodeSyncStore {
  const store = openNodeSyncStore(path);
  if (!store.ok) throw new Error(describeNodeSyncStoreOpenError(store.error));
  opened.push(store.value);
  return store.value;
}

async function reopen(): Promise<SqliteNodeSyncStore> {
  for (const store of opened.splice(0)) await store.close();
  return openStore();
}

async function loaded(store: SqliteNodeSyncStore, node: string): Promise<{ record: NodeSyncRecord | undefined; acked: [string, AckedEntry][] }> {
  const { record, acked } = await store.load(node);
  return { record, acked: [...acked].map(([uid, entry]) => [uid, entry]) };
}

const acked = (key: string, resourceVersion: string, contentHash = `h${resourceVersion}`): AckedEntry => ({ key, resourceVersion, contentHash });
const intent = (key: string): AckedEntry => ({ key, resourceVersion: null, contentHash: null });
const put = (uid: string, entry: AckedEntry): AckedChange => ({ uid, entry });

describe('given a new file', () => {
  it('runs WAL with synchronous=FULL and knows no node', async () => {
    const store = openStore();
    expect(store.durability).toEqual({ journalMode: 'wal', synchronous: 'FULL' });
    expect(await store.nodes()).toEqual([]);
    expect(await loaded(store, 'edge-1')).toEqual({ record: undefined, acked: [] });
  });
});

describe('given up positions applied for a node', () => {
  it('records the first journal, then keeps the highest position applied for it', async () => {
    const store = openStore();
    await store.recordUpApplied('edge-1', 'j1', 5);
    await store.recordUpApplied('edge-1', 'j1', 9);
    await store.recordUpApplied('edge-1', 'j1', 7);
    expect((await store.load('edge-1')).record).toEqual({ journalId: 'j1', upApplied: 9, retiredJournalIds: [] });
  });

  it('lets a new journal replace and retire the recorded one, newest first', async () => {
    const store = openStore();
    await store.recordUpApplied('edge-1', 'j1', 9);
    await store.recordUpApplied('edge-1', 'j2', 1);
    await store.recordUpApplied('edge-1', 'j3', 0);
    expect((await store.load('edge-1')).record).toEqual({ journalId: 'j3', upApplied: 0, retiredJournalIds: ['j2', 'j1'] });
  });

  it('writes nothing for a retired journal (a stale writer)', async () => {
    const store = openStore();
    await store.recordUpApplied('edge-1', 'j1', 9);
    await store.recordUpApplied('edge-1', 'j2', 3);
    await store.recordUpApplied('edge-1', 'j1', 50);
    expect((await store.load('edge-1')).record).toEqual({ journalId: 'j2', upApplied: 3, retiredJournalIds: ['j1'] });
  });

  it('remembers at most retiredJournalsMax retired journals', async () => {
    const store = openStore();
    for (let i = 1; i <= retiredJournalsMax + 3; i++) await store.recordUpApplied('edge-1', `j${i}`, i);
    const record = (await store.load('edge-1')).record;
    expect(record?.journalId).toBe(`j${retiredJournalsMax + 3}`);
    expect(record?.retiredJournalIds).toHaveLength(retiredJournalsMax);
    expect(record?.retiredJournalIds[0]).toBe(`j${retiredJournalsMax + 2}`);
  });

  it('keeps each node apart', async () => {
    const store = openStore();
    await store.recordUpApplied('edge-1', 'j1', 4);
    await store.recordUpApplied('edge-2', 'k1', 8);
    expect((await store.load('edge-1')).record?.upApplied).toBe(4);
    expect((await store.load('edge-2')).record?.upApplied).toBe(8);
    expect(await store.nodes()).toEqual(['edge-1', 'edge-2']);
  });
});

describe('given acked changes for a node', () => {
  it('puts intents, replaces them with acked revisions and removes uids', async () => {
    const store = openStore();
    await store.recordAcked('edge-1', [put('u1', intent('pods/default/web')), put('u2', intent('configmaps/default/app'))]);
    await store.recordAcked('edge-1', [put('u1', acked('pods/default/web', '12')), { uid: 'u2', entry: null }]);
    expect(await loaded(store, 'edge-1')).toEqual({ record: undefined, acked: [['u1', acked('pods/default/web', '12')]] });
    expect(await store.nodes()).toEqual(['edge-1']);
  });

  it('forgets revisions and hashes on a full resync but keeps every uid and key, for this node only', async () => {
    const store = openStore();
    await store.recordAcked('edge-1', [put('u1', acked('pods/default/web', '12')), put('u2', acked('secrets/default/s', '3'))]);
    await store.recordAcked('edge-2', [put('v1', acked('pods/default/db', '20'))]);
    await store.forgetAckedRevisions('edge-1');
    expect((await loaded(store, 'edge-1')).acked).toEqual([
      ['u1', intent('pods/default/web')],
      ['u2', intent('secrets/default/s')],
    ]);
    expect((await loaded(store, 'edge-2')).acked).toEqual([['v1', acked('pods/default/db', '20')]]);
  });

  it('stores resourceVersions as text, beyond what a double holds exactly', async () => {
    const store = openStore();
    await store.recordAcked('edge-1', [put('u1', acked('pods/default/web', '18446744073709551615'))]);
    expect((await loaded(store, 'edge-1')).acked).toEqual([['u1', acked('pods/default/web', '18446744073709551615')]]);
  });
});

describe('given a store that was closed', () => {
  it('reopens with every record and acked map as they were', async () => {
    const first = openStore();
    await first.recordUpApplied('edge-1', 'j1', 9);
    await first.recordUpApplied('edge-1', 'j2', 2);
    await first.recordAcked('edge-1', [put('u1', acked('pods/default/web', '12')), put('u2', intent('configmaps/default/app'))]);
    await first.recordAcked('edge-2', [put('v1', acked('pods/default/db', '20'))]);
    const before = [await loaded(first, 'edge-1'), await loaded(first, 'edge-2')];

    const again = await reopen();
    expect([await loaded(again, 'edge-1'), await loaded(again, 'edge-2')]).toEqual(before);
    expect(await again.nodes()).toEqual(['edge-1', 'edge-2']);
    expect(again.durability).toEqual({ journalMode: 'wal', synchronous: 'FULL' });
  });
});

describe('given a file that is not a NodeSync store', () => {
  it('refuses an edge journal as a foreign database', async () => {
    const journal = openSqliteJournal(path);
    if (journal.ok) await journal.value.close();
    const store = openNodeSyncStore(path);
    expect(!store.ok && store.error.kind).toBe('ForeignDatabase');
    expect(!store.ok && describeNodeSyncStoreOpenError(store.error)).toContain('is not an edgehive NodeSync store');
  });

  it('refuses another application\'s database', () => {
    const raw = new Database(path, { readonly: false, fileMustExist: false });
    raw.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
    raw.close();
    expect(openNodeSyncStore(path)).toEqual({ ok: false, error: { kind: 'ForeignDatabase', path, detail: expect.stringContaining('application_id is 0') } });
  });

  it('refuses a file of garbage and a directory as not a database', () => {
    writeFileSync(path, 'not a database, just text that is long enough to be read as a header...'.repeat(20));
    expect(openNodeSyncStore(path)).toMatchObject({ ok: false, error: { kind: 'NotADatabase', path } });
    mkdirSync(join(dir, 'a-dir'));
    expect(openNodeSyncStore(join(dir, 'a-dir'))).toEqual({ ok: false, error: { kind: 'NotADatabase', path: join(dir, 'a-dir'), detail: 'it is a directory' } });
  });

  it('refuses a store written by a newer edgehive', async () => {
    await openStore().close();
    opened.splice(0);
    const raw = new Database(path, { readonly: false, fileMustExist: true });
    raw.pragma('user_version = 99');
    raw.close();
    expect(openNodeSyncStore(path)).toEqual({ ok: false, error: { kind: 'UnsupportedSchema', path, found: 99, supported: 1 } });
  });

  it('names the node and the file when a stored record was altered', async () => {
    await openStore().recordUpApplied('edge-1', 'j1', 1);
    const raw = new Database(path, { readonly: false, fileMustExist: true });
    raw.prepare("UPDATE node_sync SET retired_journal_ids = '{oops' WHERE node = 'edge-1'").run();
    raw.close();
    await expect(openStore().load('edge-1')).rejects.toThrow(`NodeSync store ${path} is corrupt: node edge-1's retired journal ids are {oops`);
  });
});

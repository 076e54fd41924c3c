// The edge's sync journal on a real SQLite journal file. Method: given a journal in a temp dir and
// what was committed to it, when the sync tables are written, read, reopened or the writer is
// SIGKILLed, then the outbox is gap-free and atomic with the journaled events, as the simulated
// journal of properties/stream-edge-host.testing.ts behaves.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../kernel/index.js';
import { openSqliteJournal, type NewEvent, type RecordedEvent, type SqliteEventStore, type SqliteJournalOptions } from '../../journal/index.js';
import type { DesiredChange, OutboxCommit, OutboxEntry } from '../sync/index.js';
import { describeEdgeSyncJournalOpenError, openEdgeSyncJournal, type SqliteEdgeSyncJournal } from './edge-sync-journal.sqlite.js';

let dir: string;
let path: string;
const opened: SqliteEventStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-edge-sync-'));
  path = join(dir, 'journal.db');
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const meta = { at: '2026-01-01T00:00:00.000Z', origin: 'edge-1' };
const journaled = (seq: number): NewEvent => ({ type: 'ValueReported.v1', data: { seq }, meta });
const entry = (seq: number, bytes = 100): OutboxEntry => ({ seq, event: { type: 'ValueReported.v1', data: { seq } }, bytes });
const commitOf = (after: number, count: number, bytes = 100): OutboxCommit => ({
  after,
  entries: Array.from({ length: count }, (_, i) => entry(after + 1 + i, bytes)),
});
const eventsOf = (commit: OutboxCommit): NewEvent[] => commit.entries.map((e) => journaled(e.seq));
const streamOf = (event: NewEvent): string => `probe-${((event.data as { seq: number }).seq % 2).toString()}`;

function openStore(options: SqliteJournalOptions = {}): SqliteEventStore {
  const store = openSqliteJournal(path, options);
  if (!store.ok) throw new Error(store.error.kind);
  opened.push(store.value);
  return store.value;
}

function openBoth(): { store: SqliteEventStore; sync: SqliteEdgeSyncJournal } {
  const store = openStore();
  const sync = openEdgeSyncJournal(store, { streamOf });
  if (!sync.ok) throw new Error(describeEdgeSyncJournalOpenError(sync.error));
  return { store, sync: sync.value };
}

async function closeAll(): Promise<void> {
  for (const store of opened.splice(0)) await store.close();
}

async function allEvents(store: SqliteEventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

const seqs = (entries: readonly OutboxEntry[]): number[] => entries.map((e) => e.seq);

describe('given a new journal file', () => {
  it('keeps the sync tables in the journal file and starts from an empty outbox under the journal id', async () => {
    const { store, sync } = openBoth();
    const state = await sync.loadSyncState();
    expect({ ...state, held: [...state.held] }).toEqual({ journalId: store.journalId, clusterId: null, outboxHead: 0, outboxFloor: 0, held: [] });
    const raw = new Database(path, { readonly: true, fileMustExist: true });
    const tables = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all();
    raw.close();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['events', 'journal_meta', 'outbox', 'sync_meta', 'desired_objects']));
  });

  it('refuses a journal that does not commit with synchronous=FULL', () => {
    const store = openStore({ synchronous: 'NORMAL' });
    expect(openEdgeSyncJournal(store, { streamOf })).toEqual({ ok: false, error: { kind: 'JournalNotDurable', journalMode: 'wal', synchronous: 'NORMAL' } });
  });

  it('refuses a read-only journal', async () => {
    openBoth();
    await closeAll();
    const readonly = openStore({ readonly: true });
    expect(openEdgeSyncJournal(readonly, { streamOf })).toEqual({ ok: false, error: { kind: 'JournalReadOnly' } });
  });

  it('refuses a journal whose outbox table is not edgehive\'s', async () => {
    await openStore().close();
    const raw = new Database(path, { readonly: false, fileMustExist: true });
    raw.exec('CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload BLOB)');
    raw.close();
    const sync = openEdgeSyncJournal(openStore(), { streamOf });
    expect(!sync.ok && sync.error.kind).toBe('SyncTablesForeign');
    expect(!sync.ok && describeEdgeSyncJournalOpenError(sync.error)).toContain('table outbox has columns (id, payload)');
  });
});

describe('given outbox commits', () => {
  it('journals the events and appends gap-free outbox entries in each commit', async () => {
    const { store, sync } = openBoth();
    expect(await sync.commitWithOutbox(eventsOf(commitOf(0, 2)), commitOf(0, 2))).toEqual({ ok: true, value: undefined });
    expect(await sync.commitWithOutbox(eventsOf(commitOf(2, 1)), commitOf(2, 1))).toEqual({ ok: true, value: undefined });
    expect(await sync.readOutbox(0, 10, 10_000)).toEqual([entry(1), entry(2), entry(3)]);
    expect((await allEvents(store)).map((e) => [e.stream, e.version, (e.data as { seq: number }).seq])).toEqual([
      ['probe-1', 1, 1],
      ['probe-0', 1, 2],
      ['probe-1', 2, 3],
    ]);
    expect((await sync.loadSyncState()).outboxHead).toBe(3);
  });

  it('refuses a commit prepared after a stale head and writes neither events nor outbox entries', async () => {
    const { store, sync } = openBoth();
    await sync.commitWithOutbox(eventsOf(commitOf(0, 2)), commitOf(0, 2));
    const positionBefore = store.lastPosition;
    for (const after of [0, 1, 3]) {
      const refused = await sync.commitWithOutbox(eventsOf(commitOf(after, 1)), commitOf(after, 1));
      expect(refused).toEqual({ ok: false, error: { kind: 'WrongOutboxHead', expected: after, actual: 2 } });
    }
    expect(store.lastPosition).toBe(positionBefore);
    expect(seqs(await sync.readOutbox(0, 10, 10_000))).toEqual([1, 2]);
  });

  it('refuses a commit whose stream moved and leaves the outbox head where it was', async () => {
    const { store, sync } = openBoth();
    await store.append('node-edge-1', 0, [journaled(0)]);
    const refused = await sync.commitStreamsWithOutbox([{ stream: 'node-edge-1', expected: 0, events: [journaled(1)] }], commitOf(0, 1));
    expect(refused).toEqual({ ok: false, error: { kind: 'WrongExpectedVersion', stream: 'node-edge-1', expected: 0, actual: 1 } });
    expect(await sync.readOutbox(0, 10, 10_000)).toEqual([]);
    expect((await store.streamSummary('node-edge-1'))?.version).toBe(1);
    expect(await sync.commitStreamsWithOutbox([{ stream: 'node-edge-1', expected: 1, events: [journaled(1)] }], commitOf(0, 1))).toEqual({ ok: true, value: undefined });
  });

  it('commits appends still queued for group commit first, so positions follow call order', async () => {
    const { store, sync } = openBoth();
    const queued = store.append('node-edge-1', 'any', [journaled(0)]);
    await sync.commitWithOutbox([journaled(1)], commitOf(0, 1));
    expect((await queued).ok).toBe(true);
    expect((await allEvents(store)).map((e) => e.stream)).toEqual(['node-edge-1', 'probe-1']);
  });

  it('reads after a position within the frame and byte bounds, the first entry even when it alone is too large', async () => {
    const { sync } = openBoth();
    await sync.commitWithOutbox([], { after: 0, entries: [entry(1, 300), entry(2, 300), entry(3, 300), entry(4, 300)] });
    expect(seqs(await sync.readOutbox(1, 2, 10_000))).toEqual([2, 3]);
    expect(seqs(await sync.readOutbox(0, 10, 700))).toEqual([1, 2]);
    expect(seqs(await sync.readOutbox(0, 10, 100))).toEqual([1]);
    expect(seqs(await sync.readOutbox(4, 10, 10_000))).toEqual([]);
  });
});

describe('given an outbox the cloud acknowledged in part', () => {
  it('compacts through the ack: the floor moves there, the head stays, later entries remain', async () => {
    const { sync } = openBoth();
    await sync.commitWithOutbox([], commitOf(0, 5));
    await sync.compactOutbox(3);
    expect(seqs(await sync.readOutbox(0, 10, 10_000))).toEqual([4, 5]);
    expect(await sync.loadSyncState()).toMatchObject({ outboxHead: 5, outboxFloor: 3 });
  });

  it('keeps the head at the floor when everything is compacted, and goes on from there', async () => {
    const { sync } = openBoth();
    await sync.commitWithOutbox([], commitOf(0, 3));
    await sync.compactOutbox(3);
    expect(await sync.loadSyncState()).toMatchObject({ outboxHead: 3, outboxFloor: 3 });
    expect(await sync.commitWithOutbox([], commitOf(0, 1))).toEqual({ ok: false, error: { kind: 'WrongOutboxHead', expected: 0, actual: 3 } });
    expect(await sync.commitWithOutbox([], commitOf(3, 1))).toEqual({ ok: true, value: undefined });
    expect(seqs(await sync.readOutbox(0, 10, 10_000))).toEqual([4]);
  });

  it('never lowers the floor for an older ack', async () => {
    const { sync } = openBoth();
    await sync.commitWithOutbox([], commitOf(0, 4));
    await sync.compactOutbox(3);
    await sync.compactOutbox(1);
    expect(await sync.loadSyncState()).toMatchObject({ outboxHead: 4, outboxFloor: 3 });
  });

  it('rejects compacting past the head as a bug, and writes nothing', async () => {
    const { sync } = openBoth();
    await sync.commitWithOutbox([], commitOf(0, 2));
    await expect(sync.compactOutbox(3)).rejects.toThrow('only committed outbox entries');
    expect(await sync.loadSyncState()).toMatchObject({ outboxHead: 2, outboxFloor: 0 });
  });
});

describe('given desired changes from the cloud', () => {
  const put = (key: string, uid: string, resourceVersion: string, content: JsonValue): DesiredChange => ({
    op: 'put',
    key,
    uid,
    resourceVersion,
    contentHash: `h-${uid}-${resourceVersion}`,
    content,
  });

  it('puts, replaces and deletes held objects and records the cluster, each commit at once', async () => {
    const { sync } = openBoth();
    await sync.commitDesired([put('configmaps/default/app', 'u1', '10', { data: { a: '1' } }), put('pods/default/web', 'u2', '11', { spec: {} })], null);
    await sync.commitDesired([put('configmaps/default/app', 'u3', '12', { data: { a: '2' } }), { op: 'delete', key: 'pods/default/web', uid: 'u2' }], 'cluster-a');
    const state = await sync.loadSyncState();
    expect(state.clusterId).toBe('cluster-a');
    expect([...state.held]).toEqual([['configmaps/default/app', { uid: 'u3', resourceVersion: '12', contentHash: 'h-u3-12' }]]);
    expect(await sync.desiredContent('configmaps/default/app')).toEqual({ data: { a: '2' } });
    expect(await sync.desiredContent('pods/default/web')).toBeUndefined();
    expect(await sync.heldObjects()).toEqual([
      { key: 'configmaps/default/app', uid: 'u3', resourceVersion: '12', contentHash: 'h-u3-12', content: { data: { a: '2' } } },
    ]);
  });

  it('keeps the recorded cluster when a commit carries none, and journals no event for desired objects', async () => {
    const { store, sync } = openBoth();
    await sync.commitDesired([], 'cluster-a');
    await sync.commitDesired([put('nodes//edge-1', 'n1', '1', { spec: {} })], null);
    expect((await sync.loadSyncState()).clusterId).toBe('cluster-a');
    expect(store.lastPosition).toBe(0n);
  });
});

describe('given a journal that was closed', () => {
  it('reopens with everything: journal id, cluster, outbox, floor, held objects and events', async () => {
    const first = openBoth();
    const journalId = first.store.journalId;
    await first.sync.commitWithOutbox(eventsOf(commitOf(0, 3)), commitOf(0, 3));
    await first.sync.compactOutbox(1);
    await first.sync.commitDesired([{ op: 'put', key: 'secrets/default/s', uid: 's1', resourceVersion: '7', contentHash: 'h7', content: { data: { k: 'dg==' } } }], 'cluster-a');
    await closeAll();

    const again = openBoth();
    const state = await again.sync.loadSyncState();
    expect({ ...state, held: [...state.held] }).toEqual({
      journalId,
      clusterId: 'cluster-a',
      outboxHead: 3,
      outboxFloor: 1,
      held: [['secrets/default/s', { uid: 's1', resourceVersion: '7', contentHash: 'h7' }]],
    });
    expect(await again.sync.readOutbox(0, 10, 10_000)).toEqual([entry(2), entry(3)]);
    expect((await allEvents(again.store)).length).toBe(3);
    expect(await again.sync.commitWithOutbox([journaled(4)], commitOf(3, 1))).toEqual({ ok: true, value: undefined });
  });

  it('refuses to reopen an outbox with a gap (a file edited by hand)', async () => {
    const first = openBoth();
    await first.sync.commitWithOutbox([], commitOf(0, 3));
    await closeAll();
    const raw = new Database(path, { readonly: false, fileMustExist: true });
    raw.prepare('DELETE FROM outbox WHERE seq = 2').run();
    raw.close();
    const sync = openEdgeSyncJournal(openStore(), { streamOf });
    expect(!sync.ok && sync.error).toEqual({ kind: 'SyncTablesForeign', detail: 'the outbox has gaps: 2 entries from 1 to 3' });
  });
});

/** Runs the crash writer until it reports an outbox head of at least `killAtHead`, then SIGKILLs it. */
function runWriterAndKill(killAtHead: number): Promise<number> {
  const script = join(import.meta.dirname, 'edge-sync-journal.crash-writer.testing.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let acknowledged = 0;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^committed (\d+)$/.exec(line);
      if (match === null) return;
      acknowledged = Number(match[1]);
      if (acknowledged >= killAtHead) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(acknowledged) : reject(new Error(`crash writer exited with ${String(code)}`))));
  });
}

describe('given a writer SIGKILLed while committing', () => {
  it.each([60, 400])('reopens at outbox head ≥ ~%i with a gap-free outbox whose events are exactly the journaled ones', async (killAtHead) => {
    const acknowledged = await runWriterAndKill(killAtHead);
    expect(acknowledged).toBeGreaterThanOrEqual(killAtHead);

    const { store, sync } = openBoth();
    const state = await sync.loadSyncState();
    expect(state.outboxHead).toBeGreaterThanOrEqual(acknowledged);
    const outbox = await sync.readOutbox(state.outboxFloor, state.outboxHead + 1, Number.MAX_SAFE_INTEGER);
    expect(seqs(outbox)).toEqual(Array.from({ length: state.outboxHead - state.outboxFloor }, (_, i) => state.outboxFloor + 1 + i));
    // Every seq was journaled exactly once, compacted from the outbox or not, and no event lacks its seq.
    const journaledSeqs = (await allEvents(store)).map((e) => (e.data as { seq: number }).seq).sort((a, b) => a - b);
    expect(journaledSeqs).toEqual(Array.from({ length: state.outboxHead }, (_, i) => i + 1));
    for (const e of outbox) expect(e.event.data).toMatchObject({ seq: e.seq });
  });
});

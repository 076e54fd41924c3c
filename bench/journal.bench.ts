// Journal benchmarks, each as a ratio against raw better-sqlite3 doing the same work in the same
// run: same rows, same table, same durability (WAL, synchronous=FULL), same commit granularity.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteJournal, type NewEvent, type SqliteEventStore } from '../journal/index.js';

export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly baseline: number;
  readonly ratio: number;
  readonly mode: string;
  readonly bar?: number;
}

const meta = { at: '2026-11-01T00:00:00.000Z', origin: 'bench', correlationId: 'bench-1' };
const eventAt = (i: number): NewEvent => ({ type: 'ContainerStarted.v1', data: { container: 'app', pid: 1000 + i, runId: `run-${i}` }, meta });

const rawTable = `CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, version INTEGER NOT NULL,
  type TEXT NOT NULL, data TEXT NOT NULL, meta TEXT NOT NULL, UNIQUE (stream, version))`;

function openRaw(path: string): Database.Database {
  const db = new Database(path);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`raw baseline not in WAL (${String(mode)})`);
  db.pragma('synchronous = FULL');
  db.exec(rawTable);
  return db;
}

function openJournal(path: string): SqliteEventStore {
  const opened = openSqliteJournal(path, { synchronous: 'FULL' });
  if (!opened.ok) throw new Error(opened.error.kind);
  return opened.value;
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Raw inserts of `total` rows, `perCommit` rows per transaction, on one stream. */
function rawInserts(dir: string, total: number, perCommit: number): number {
  const db = openRaw(join(dir, `raw-${perCommit}.db`));
  const insert = db.prepare('INSERT INTO events (stream, version, type, data, meta) VALUES (?, ?, ?, ?, ?)');
  const commit = db.transaction((from: number) => {
    for (let i = from; i < from + perCommit; i++) {
      const e = eventAt(i);
      insert.run('pod-default.web.u1', i + 1, e.type, JSON.stringify(e.data), JSON.stringify(e.meta));
    }
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i += perCommit) commit(i);
  const rate = total / seconds(start);
  db.close();
  return rate;
}

/** Journal appends of `total` events, `perCommit` events per append (one commit each), awaited in turn. */
async function journalAppends(dir: string, total: number, perCommit: number): Promise<{ rate: number; mode: string }> {
  const store = openJournal(join(dir, `journal-${perCommit}.db`));
  const { journalMode, synchronous } = store.durability;
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i += perCommit) {
    const events = Array.from({ length: perCommit }, (_, j) => eventAt(i + j));
    const result = await store.append('pod-default.web.u1', i, events);
    if (!result.ok) throw new Error(result.error.kind);
  }
  const rate = total / seconds(start);
  await store.close();
  return { rate, mode: `journal_mode=${journalMode}, synchronous=${synchronous}` };
}

export async function appendFigures(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-bench-'));
  try {
    const figures: Figure[] = [];
    for (const [total, perCommit] of [[4000, 1], [100_000, 100]] as const) {
      const baseline = rawInserts(dir, total, perCommit);
      const ours = await journalAppends(dir, total, perCommit);
      figures.push({
        name: `journal append, ${perCommit} event${perCommit === 1 ? '' : 's'} per commit`,
        unit: 'events/s',
        value: ours.rate,
        baseline,
        ratio: ours.rate / baseline,
        mode: ours.mode,
        bar: 0.5,
      });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Full replay through `readAll` (decoded events) vs a raw SELECT scan that reads the same columns. */
export async function replayFigure(): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-bench-'));
  try {
    const path = join(dir, 'replay.db');
    const store = openJournal(path);
    const total = 200_000;
    for (let i = 0; i < total; i += 1000) {
      const streamNo = (i / 1000) % 50;
      await store.append(`pod-default.web-${streamNo}.u`, 'any', Array.from({ length: 1000 }, (_, j) => eventAt(i + j)));
    }
    const { journalMode, synchronous } = store.durability;
    await store.close();

    const raw = new Database(path, { readonly: true });
    let rawStart = process.hrtime.bigint();
    let rawCount = 0;
    for (const row of raw.prepare('SELECT position, stream, version, type, data, meta FROM events ORDER BY position').iterate()) {
      if ((row as { data: string }).data.length > 0) rawCount += 1;
    }
    const baseline = rawCount / seconds(rawStart);
    raw.close();

    const reader = openSqliteJournal(path, { readonly: true });
    if (!reader.ok) throw new Error(reader.error.kind);
    rawStart = process.hrtime.bigint();
    let count = 0;
    for await (const event of reader.value.readAll()) if (event.version > 0) count += 1;
    const value = count / seconds(rawStart);
    await reader.value.close();
    if (count !== total || rawCount !== total) throw new Error(`replay read ${count}, raw ${rawCount}, expected ${total}`);
    return { name: 'full replay (readAll, decoded events)', unit: 'events/s', value, baseline, ratio: value / baseline, mode: `journal_mode=${journalMode}, synchronous=${synchronous}`, bar: 0.3 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

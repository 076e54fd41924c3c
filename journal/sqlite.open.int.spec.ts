// Opening files as journals. Method: given a file that is missing, foreign, corrupt or from a newer
// edgehive, when it is opened, then a typed error names the problem and nothing is created or lost.
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeJournalOpenError } from './journal-errors.js';
import { openSqliteJournal } from './sqlite.event-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-open-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const journalWithEvents = async (path: string, count: number): Promise<void> => {
  const opened = openSqliteJournal(path);
  if (!opened.ok) throw new Error(opened.error.kind);
  for (let i = 0; i < count; i++) {
    await opened.value.append(`s-${i % 10}`, 'any', [{ type: 'Filled.v1', data: { pad: 'x'.repeat(400), i }, meta: { at: '2026-01-01T00:00:00Z', origin: 't' } }]);
  }
  await opened.value.close();
};

describe('given a new path', () => {
  it('creates a journal in WAL mode with synchronous=FULL and a journal id', async () => {
    const opened = openSqliteJournal(join(dir, 'new.db'));
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.value.durability).toEqual({ journalMode: 'wal', synchronous: 'FULL' });
    expect(opened.value.journalId).toMatch(/^[0-9a-f-]{36}$/);
    const id = opened.value.journalId;
    await opened.value.close();
    const again = openSqliteJournal(join(dir, 'new.db'), { readonly: true });
    expect(again.ok && again.value.journalId).toBe(id);
    if (again.ok) await again.value.close();
  });
});

describe('given something that is not a journal', () => {
  it('a missing file opened for reading is JournalMissing, and is not created', () => {
    const path = join(dir, 'absent.db');
    expect(openSqliteJournal(path, { readonly: true })).toEqual({ ok: false, error: { kind: 'JournalMissing', path } });
    expect(existsSync(path)).toBe(false);
  });

  it('a text file is NotADatabase and is left untouched', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello, I am a text file and definitely not SQLite\n'.repeat(100));
    const before = readFileSync(path);
    const opened = openSqliteJournal(path);
    expect(opened).toMatchObject({ ok: false, error: { kind: 'NotADatabase', path } });
    if (!opened.ok) expect(describeJournalOpenError(opened.error)).toContain('not an SQLite database');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a directory is NotADatabase', () => {
    const path = join(dir, 'folder.db');
    mkdirSync(path);
    expect(openSqliteJournal(path)).toMatchObject({ ok: false, error: { kind: 'NotADatabase' } });
  });

  it("another application's SQLite database is ForeignDatabase and keeps its tables", () => {
    const path = join(dir, 'other.db');
    const other = new Database(path);
    other.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES (\'ada\')');
    other.close();
    const opened = openSqliteJournal(path);
    expect(opened).toMatchObject({ ok: false, error: { kind: 'ForeignDatabase' } });
    if (!opened.ok) expect(describeJournalOpenError(opened.error)).toContain('application_id is 0');
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT name FROM customers').pluck().all()).toEqual(['ada']);
    check.close();
  });

  it('an empty SQLite database opened for reading is ForeignDatabase, not an empty journal', () => {
    const path = join(dir, 'empty.db');
    new Database(path).close();
    expect(openSqliteJournal(path, { readonly: true })).toMatchObject({ ok: false, error: { kind: 'ForeignDatabase', detail: 'it is an empty SQLite database' } });
  });

  it('a journal from a newer edgehive is UnsupportedSchema', async () => {
    const path = join(dir, 'future.db');
    await journalWithEvents(path, 1);
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(openSqliteJournal(path)).toEqual({ ok: false, error: { kind: 'UnsupportedSchema', path, found: 99, supported: 1 } });
  });
});

describe('given a damaged journal', () => {
  it('overwritten pages are reported as JournalCorrupt, never as an empty journal', async () => {
    const path = join(dir, 'damaged.db');
    await journalWithEvents(path, 400);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    // Scribble over the middle of the file, leaving the 100-byte header intact.
    writeSync(fd, Buffer.alloc(16_384, 0xa5), 0, 16_384, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const opened = openSqliteJournal(path, { readonly: true });
    expect(opened).toMatchObject({ ok: false, error: { kind: 'JournalCorrupt', path } });
    if (!opened.ok) expect(describeJournalOpenError(opened.error)).toMatch(/^journal .* is corrupt: .+/);
  });

  it('a truncated journal is reported, not opened as empty', async () => {
    const path = join(dir, 'truncated.db');
    await journalWithEvents(path, 400);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const opened = openSqliteJournal(path, { readonly: true });
    expect(opened).toMatchObject({ ok: false, error: { kind: 'JournalCorrupt', path } });
  });
});

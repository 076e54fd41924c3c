// A journal bounded by journalBytesMax. Method: given snapshots every few events, when many events
// are appended, then covered history is compacted so the journal stays near its bound, nothing
// above the compaction floor is dropped, and the file gives space back.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteJournal, type SqliteEventStore } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-bounded-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const meta = { at: '2026-11-01T00:00:00.000Z', origin: 'edge-1' };
const filler = (i: number) => ({ type: 'Filled.v1', data: { i, pad: 'x'.repeat(200) }, meta });

async function appendWithSnapshots(store: SqliteEventStore, streams: number, perStream: number): Promise<void> {
  for (let v = 0; v < perStream; v++) {
    for (let s = 0; s < streams; s++) {
      const result = await store.append(`s-${s}`, v, [filler(v)]);
      expect(result.ok).toBe(true);
      if ((v + 1) % 10 === 0) await store.saveSnapshot({ stream: `s-${s}`, version: v + 1, state: { upTo: v + 1 }, at: meta.at });
    }
  }
}

it('stays near journalBytesMax when history is covered by snapshots', async () => {
  const journalBytesMax = 64 * 1024;
  const opened = openSqliteJournal(join(dir, 'edge.db'), { journalBytesMax });
  if (!opened.ok) throw new Error(opened.error.kind);
  const store = opened.value;
  await appendWithSnapshots(store, 5, 400);
  // Uncovered tails (at most 10 events per stream) may sit above the bound; nothing else may.
  expect(store.eventBytes).toBeLessThanOrEqual(journalBytesMax + 5 * 10 * 400);
  for (let s = 0; s < 5; s++) {
    const summary = await store.streamSummary(`s-${s}`);
    expect(summary?.version).toBe(400);
    expect(summary?.compactedThrough).toBeGreaterThan(300);
  }
  await store.close();
  expect(statSync(join(dir, 'edge.db')).size).toBeLessThan(1024 * 1024);
});

it('never compacts at or above the floor, even when over the bound', async () => {
  let floor = 1n;
  const opened = openSqliteJournal(join(dir, 'edge.db'), { journalBytesMax: 8 * 1024, compactionFloor: () => floor });
  if (!opened.ok) throw new Error(opened.error.kind);
  const store = opened.value;
  await appendWithSnapshots(store, 2, 100);
  expect((await store.streamSummary('s-0'))?.compactedThrough).toBe(0);
  expect(store.eventBytes).toBeGreaterThan(8 * 1024);
  floor = store.lastPosition + 1n;
  await store.append('s-0', 100, [filler(100)]);
  expect((await store.streamSummary('s-0'))?.compactedThrough).toBe(100);
  expect((await store.streamSummary('s-1'))?.compactedThrough).toBe(99);
  await store.close();
});

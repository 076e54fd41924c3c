// Journal atomicity and optimistic concurrency, as properties. Method: fast-check generates
// writers, batches, poisoned payloads and interleavings (fc.scheduler); the SQLite journal on a
// real file must agree with a simple model: one winner per expected version, all-or-nothing appends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSqliteJournal, type NewEvent, type RecordedEvent, type SqliteEventStore } from '../journal/index.js';

const meta = { at: '2026-01-01T00:00:00.000Z', origin: 'prop' };
const batch = (writer: number, size: number): NewEvent[] => Array.from({ length: size }, (_, i) => ({ type: `W${writer}.v1`, data: { writer, i }, meta }));

async function withJournal<T>(connections: number, test: (stores: SqliteEventStore[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-prop-'));
  const stores: SqliteEventStore[] = [];
  try {
    for (let i = 0; i < connections; i++) {
      const opened = openSqliteJournal(join(dir, 'j.db'), { integrityCheck: 'none' });
      if (!opened.ok) throw new Error(opened.error.kind);
      stores.push(opened.value);
    }
    return await test(stores);
  } finally {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readStream(store: SqliteEventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

describe('journal properties', () => {
  it('concurrent appends with the same expected version: exactly one wins, in any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.record({ connection: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 1, max: 6 }) }), { minLength: 2, maxLength: 6 }),
        fc.scheduler(),
        async (prefill, writers, s) =>
          withJournal(3, async (stores) => {
            if (prefill > 0) await stores[0]!.append('race', 0, batch(99, prefill));
            const results = await s.waitFor(
              Promise.all(writers.map((w, i) => s.schedule(Promise.resolve(i)).then(() => stores[w.connection]!.append('race', prefill, batch(i, w.size))))),
            );
            const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
            expect(winners).toHaveLength(1);
            for (const r of results) if (!r.ok) expect(r.error).toMatchObject({ kind: 'WrongExpectedVersion', expected: prefill, actual: prefill + writers[winners[0]!]!.size });
            const events = await readStream(stores[1]!, 'race');
            expect(events.slice(prefill).map((e) => e.type)).toEqual(batch(winners[0]!, writers[winners[0]!]!.size).map((e) => e.type));
            expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
          }),
      ),
      { numRuns: 40 },
    );
  });

  it('an append whose payload cannot be stored leaves no trace and disturbs no other append in the same commit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ stream: fc.constantFrom('a', 'b', 'c'), size: fc.integer({ min: 1, max: 5 }), poisonAt: fc.option(fc.nat(4), { nil: undefined }) }), { minLength: 1, maxLength: 12 }),
        async (appends) =>
          withJournal(1, async ([store]) => {
            const model = new Map<string, number>();
            // Issued in one tick: the journal groups them into one commit.
            const outcomes = await Promise.allSettled(
              appends.map((a, i) => {
                const events = batch(i, a.size);
                if (a.poisonAt !== undefined && a.poisonAt < a.size) events[a.poisonAt] = { ...events[a.poisonAt]!, data: { bad: 1n } as never };
                return store!.append(a.stream, 'any', events);
              }),
            );
            appends.forEach((a, i) => {
              const poisoned = a.poisonAt !== undefined && a.poisonAt < a.size;
              expect(outcomes[i]!.status).toBe(poisoned ? 'rejected' : 'fulfilled');
              if (!poisoned) model.set(a.stream, (model.get(a.stream) ?? 0) + a.size);
            });
            for (const stream of ['a', 'b', 'c']) {
              const events = await readStream(store!, stream);
              expect(events.length).toBe(model.get(stream) ?? 0);
              expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
            }
          }),
      ),
      { numRuns: 60 },
    );
  });
});

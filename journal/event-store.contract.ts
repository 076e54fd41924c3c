// One contract suite for every EventStore adapter (STYLE R9): each adapter's spec file calls
// `eventStoreContract`, so the in-memory, SQLite and EventStoreDB stores obey the same rules.
// Method: given an empty store, when appends and reads happen, then versions, positions, ranges,
// subscriptions, snapshots and compaction behave as the port promises.
import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { EventStore, NewEvent, RecordedEvent } from './event-store.port.js';

export interface StoreUnderTest {
  readonly store: EventStore;
  /** A second, independent connection to the same journal (or the same store if it has none). */
  readonly connectAgain: () => Promise<EventStore>;
  readonly cleanup: () => Promise<void>;
}

/** Declared differences between adapters, so tests never branch on the adapter's name. */
export interface Quirks {
  /** Global positions are 1, 2, 3… (SQLite, memory) rather than sparse log offsets (EventStoreDB). */
  readonly densePositions: boolean;
}

const event = (type: string, n: number): NewEvent => ({
  type,
  data: { n, text: `ünïcødé ${n}`, nested: { list: [1, 'two', null, true] } },
  meta: { at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), origin: 'contract', correlationId: `c-${n}` },
});
const events = (count: number, type = 'Happened.v1'): NewEvent[] => Array.from({ length: count }, (_, i) => event(type, i + 1));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function eventStoreContract(name: string, make: () => Promise<StoreUnderTest>, quirks: Quirks): void {
  const withStore = (test: (s: StoreUnderTest, stream: (label: string) => string) => Promise<void>) => async () => {
    const s = await make();
    const prefix = `c${randomUUID().slice(0, 8)}`;
    try {
      await test(s, (label) => `${prefix}-${label}`);
    } finally {
      await s.cleanup();
    }
  };

  describe(`EventStore contract: ${name}`, () => {
    describe('given an empty stream', () => {
      it(
        'appending at expected version 0 records versions 1..n with increasing positions',
        withStore(async ({ store }, stream) => {
          const result = await store.append(stream('a'), 0, events(3));
          expect(result).toMatchObject({ ok: true, value: { nextVersion: 3 } });
          const read = await collect(store.readStream(stream('a')));
          expect(read.map((e) => e.version)).toEqual([1, 2, 3]);
          expect(read.map((e) => e.data)).toEqual(events(3).map((e) => e.data));
          expect(read.map((e) => e.meta)).toEqual(events(3).map((e) => e.meta));
          expect(read.every((e) => e.stream === stream('a') && e.type === 'Happened.v1')).toBe(true);
          expect(read[1]!.position > read[0]!.position && read[2]!.position > read[1]!.position).toBe(true);
          if (result.ok) expect(result.value.position).toBe(read[2]!.position);
          if (quirks.densePositions) expect(read[2]!.position - read[0]!.position).toBe(2n);
        }),
      );

      it(
        'appending at a non-zero expected version fails with WrongExpectedVersion and writes nothing',
        withStore(async ({ store }, stream) => {
          const result = await store.append(stream('a'), 2, events(1));
          expect(result).toEqual({
            ok: false,
            error: { kind: 'WrongExpectedVersion', stream: stream('a'), expected: 2, actual: 0 },
          });
          expect(await collect(store.readStream(stream('a')))).toEqual([]);
          expect(await store.streamSummary(stream('a'))).toBeUndefined();
        }),
      );

      it(
        'reading it yields nothing and it has no snapshot',
        withStore(async ({ store }, stream) => {
          expect(await collect(store.readStream(stream('none')))).toEqual([]);
          expect(await store.loadSnapshot(stream('none'))).toBeUndefined();
        }),
      );
    });

    describe('given a stream with events', () => {
      it(
        'a stale expected version is refused with the actual version; the right one succeeds',
        withStore(async ({ store }, stream) => {
          await store.append(stream('a'), 0, events(2));
          expect(await store.append(stream('a'), 1, events(1))).toEqual({
            ok: false,
            error: { kind: 'WrongExpectedVersion', stream: stream('a'), expected: 1, actual: 2 },
          });
          expect(await store.append(stream('a'), 0, events(1))).toMatchObject({ ok: false, error: { actual: 2 } });
          expect(await store.append(stream('a'), 2, events(1))).toMatchObject({ ok: true, value: { nextVersion: 3 } });
        }),
      );

      it(
        "'any' appends whatever the version",
        withStore(async ({ store }, stream) => {
          await store.append(stream('a'), 0, events(2));
          expect(await store.append(stream('a'), 'any', events(2))).toMatchObject({ ok: true, value: { nextVersion: 4 } });
          expect(await store.append(stream('b'), 'any', events(1))).toMatchObject({ ok: true, value: { nextVersion: 1 } });
        }),
      );

      it(
        'readStream honours from/to ranges, inclusive',
        withStore(async ({ store }, stream) => {
          await store.append(stream('a'), 0, events(10));
          const middle = await collect(store.readStream(stream('a'), { from: 4, to: 6 }));
          expect(middle.map((e) => e.version)).toEqual([4, 5, 6]);
          const tail = await collect(store.readStream(stream('a'), { from: 9 }));
          expect(tail.map((e) => e.version)).toEqual([9, 10]);
          const head = await collect(store.readStream(stream('a'), { to: 2 }));
          expect(head.map((e) => e.version)).toEqual([1, 2]);
        }),
      );

      it(
        'readStream pages through long streams without losing or repeating events',
        withStore(async ({ store }, stream) => {
          for (let i = 0; i < 3; i++) await store.append(stream('long'), i * 400, events(400));
          const all = await collect(store.readStream(stream('long')));
          expect(all.map((e) => e.version)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
        }),
      );

      it(
        'summaries report the head version and streams are listed',
        withStore(async ({ store }, stream) => {
          await store.append(stream('x'), 0, events(3));
          await store.append(stream('y'), 0, events(1));
          expect(await store.streamSummary(stream('x'))).toEqual({ stream: stream('x'), version: 3, compactedThrough: 0 });
          const listed = (await collect(store.listStreams())).filter((s) => s.stream.startsWith(stream('')));
          expect(listed).toEqual([
            { stream: stream('x'), version: 3, compactedThrough: 0 },
            { stream: stream('y'), version: 1, compactedThrough: 0 },
          ]);
        }),
      );
    });

    describe('given several streams', () => {
      it(
        'readAll yields every event in global append order, from an inclusive position',
        withStore(async ({ store }, stream) => {
          const first = await store.append(stream('a'), 0, events(2, 'A.v1'));
          await store.append(stream('b'), 0, events(2, 'B.v1'));
          await store.append(stream('a'), 2, events(1, 'A.v1'));
          const mine = (all: RecordedEvent[]) => all.filter((e) => e.stream.startsWith(stream('')));
          const all = mine(await collect(store.readAll()));
          expect(all.map((e) => `${e.stream.slice(-1)}${e.version}`)).toEqual(['a1', 'a2', 'b1', 'b2', 'a3']);
          for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).toBe(true);
          expect(first.ok).toBe(true);
          const fromB = mine(await collect(store.readAll({ fromPosition: all[2]!.position })));
          expect(fromB.map((e) => `${e.stream.slice(-1)}${e.version}`)).toEqual(['b1', 'b2', 'a3']);
        }),
      );

      it(
        'subscribe catches up from a position, then follows live appends without gaps or repeats',
        withStore(async ({ store }, stream) => {
          await store.append(stream('a'), 0, events(3));
          const start = (await collect(store.readStream(stream('a'))))[1]!.position;
          const seen = firstValueFrom(store.subscribe({ fromPosition: start }).pipe(take(5), toArray()));
          await store.append(stream('b'), 0, events(2));
          await store.append(stream('a'), 3, events(1));
          const got = await seen;
          expect(got.map((e) => `${e.stream.slice(-1)}${e.version}`)).toEqual(['a2', 'a3', 'b1', 'b2', 'a4']);
        }),
      );

      it(
        'a subscription sees appends made through another connection',
        withStore(async ({ store, connectAgain }, stream) => {
          const other = await connectAgain();
          const from = (await store.append(stream('a'), 0, events(1))).ok ? undefined : 0n;
          expect(from).toBeUndefined();
          const positions = (await collect(store.readStream(stream('a')))).map((e) => e.position);
          const seen = firstValueFrom(store.subscribe({ fromPosition: positions[0]! }).pipe(take(3), toArray()));
          await other.append(stream('a'), 1, events(2));
          expect((await seen).map((e) => e.version)).toEqual([1, 2, 3]);
          if (other !== store) await other.close();
        }),
      );
    });

    describe('given concurrent writers', () => {
      it(
        'appends with the same expected version: exactly one wins',
        withStore(async ({ store, connectAgain }, stream) => {
          const other = await connectAgain();
          await store.append(stream('race'), 0, events(1));
          const results = await Promise.all([
            store.append(stream('race'), 1, events(2, 'Left.v1')),
            other.append(stream('race'), 1, events(2, 'Right.v1')),
            store.append(stream('race'), 1, events(1, 'Third.v1')),
          ]);
          expect(results.filter((r) => r.ok)).toHaveLength(1);
          expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.error.kind === 'WrongExpectedVersion')).toBe(true);
          const read = await collect(store.readStream(stream('race')));
          const winner = read.slice(1).map((e) => e.type);
          expect(new Set(winner).size).toBe(1);
          expect(read.map((e) => e.version)).toEqual(Array.from({ length: read.length }, (_, i) => i + 1));
          if (other !== store) await other.close();
        }),
      );
    });

    describe('given snapshots', () => {
      it(
        'the latest snapshot is loaded back exactly',
        withStore(async ({ store }, stream) => {
          await store.append(stream('s'), 0, events(5));
          await store.saveSnapshot({ stream: stream('s'), version: 2, state: { value: 'two' }, at: '2026-01-01T00:00:00.000Z' });
          await store.saveSnapshot({ stream: stream('s'), version: 4, state: { value: 'four', list: [1, 2] }, at: '2026-01-01T00:00:01.000Z' });
          expect(await store.loadSnapshot(stream('s'))).toEqual({
            stream: stream('s'),
            version: 4,
            state: { value: 'four', list: [1, 2] },
            at: '2026-01-01T00:00:01.000Z',
          });
        }),
      );

      it(
        'compaction drops history covered by the snapshot, keeps the newest event, and says where history begins',
        withStore(async ({ store }, stream) => {
          await store.append(stream('c'), 0, events(6));
          await store.append(stream('d'), 0, events(3));
          await store.saveSnapshot({ stream: stream('c'), version: 4, state: { upTo: 4 }, at: '2026-01-01T00:00:00.000Z' });
          await store.saveSnapshot({ stream: stream('d'), version: 3, state: { upTo: 3 }, at: '2026-01-01T00:00:00.000Z' });
          const report = await store.compact();
          expect(report.eventsRemoved).toBeGreaterThanOrEqual(6);
          expect((await collect(store.readStream(stream('c')))).map((e) => e.version)).toEqual([5, 6]);
          expect((await collect(store.readStream(stream('d')))).map((e) => e.version)).toEqual([3]);
          expect(await store.streamSummary(stream('c'))).toEqual({ stream: stream('c'), version: 6, compactedThrough: 4 });
          expect(await store.streamSummary(stream('d'))).toEqual({ stream: stream('d'), version: 3, compactedThrough: 2 });
          expect(await store.append(stream('c'), 6, events(1))).toMatchObject({ ok: true, value: { nextVersion: 7 } });
        }),
      );

      it(
        'compaction never removes events at or above the floor position',
        withStore(async ({ store }, stream) => {
          await store.append(stream('f'), 0, events(3));
          await store.append(stream('f'), 3, events(3));
          const read = await collect(store.readStream(stream('f')));
          await store.saveSnapshot({ stream: stream('f'), version: 5, state: {}, at: '2026-01-01T00:00:00.000Z' });
          await store.compact({ floorPosition: read[2]!.position });
          expect((await collect(store.readStream(stream('f')))).map((e) => e.version)).toEqual([3, 4, 5, 6]);
        }),
      );
    });
  });
}

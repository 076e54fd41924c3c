// The actor host on a real SQLite journal. Method: given a journal, when commands run through a
// journaled actor (and hosts restart), then events are written before effects, rehydration runs
// no effects, and the rebuilt state equals the live one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, SequentialIds } from '../../kernel/index.js';
import { openSqliteJournal, type RecordedEvent, type SqliteEventStore } from '../../journal/index.js';
import { ActorHost } from './actor-host.js';
import { lampKind } from './lamp.kind.testing.js';

let dir: string;
let stores: SqliteEventStore[];

const openStore = (): SqliteEventStore => {
  const opened = openSqliteJournal(join(dir, 'edge.db'));
  if (!opened.ok) throw new Error(opened.error.kind);
  stores.push(opened.value);
  return opened.value;
};
const hostOn = (store: SqliteEventStore, snapshotEveryEvents?: number) =>
  new ActorHost({ store, clock: new ManualClock(Date.UTC(2026, 10, 1)), ids: new SequentialIds('corr'), origin: 'edge-1', ...(snapshotEveryEvents === undefined ? {} : { snapshotEveryEvents }) });
const readAll = async (store: SqliteEventStore): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream('lamp-hall')) out.push(e);
  return out;
};
const started = async <T>(result: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> => {
  const r = await result;
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-host-'));
  stores = [];
});
afterEach(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('given a fresh stream', () => {
  it('journals the event before its effect runs', async () => {
    const store = openStore();
    const seenByEffect: number[] = [];
    const lamp = await started(
      hostOn(store).start(lampKind, 'lamp-hall', {
        actions: { lightBulb: () => void readAll(store).then((events) => seenByEffect.push(events.length)) },
      }),
    );
    const result = await lamp.execute({ type: 'SwitchOn', by: 'alice' });
    expect(result).toEqual({ ok: true, value: { events: [{ type: 'LampSwitchedOn.v1', data: { by: 'alice' } }], version: 1 } });
    await expect.poll(() => seenByEffect).toEqual([1]);
    const [recorded] = await readAll(store);
    expect(recorded?.meta).toEqual({ at: '2026-11-01T00:00:00.000Z', origin: 'edge-1', correlationId: 'corr-1' });
  });

  it('a rejected command writes nothing and runs no effect', async () => {
    const store = openStore();
    let effects = 0;
    const lamp = await started(hostOn(store).start(lampKind, 'lamp-hall', { actions: { darkenBulb: () => void (effects += 1) } }));
    expect(await lamp.execute({ type: 'SwitchOff', by: 'bob' })).toEqual({ ok: false, error: { kind: 'Rejected', rejection: { kind: 'AlreadyOff' } } });
    expect(await readAll(store)).toEqual([]);
    expect(effects).toBe(0);
    expect(lamp.version).toBe(0);
  });

  it('commands sent together are applied one at a time, in order', async () => {
    const lamp = await started(hostOn(openStore()).start(lampKind, 'lamp-hall', {}));
    const results = await Promise.all([
      lamp.execute({ type: 'SwitchOn', by: 'a' }),
      lamp.execute({ type: 'SwitchOn', by: 'b' }),
      lamp.execute({ type: 'SwitchOff', by: 'c' }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(lamp.state).toEqual({ status: 'off', switches: 2 });
  });

  it('refuses commands past the mailbox bound instead of queueing without limit', async () => {
    const store = openStore();
    const host = new ActorHost({ store, clock: new ManualClock(0), ids: new SequentialIds('c'), origin: 'edge-1', mailboxCommandsMax: 2 });
    const lamp = await started(host.start(lampKind, 'lamp-hall', {}));
    const results = await Promise.all([1, 2, 3].map((i) => lamp.execute({ type: 'Observe', bulbLit: i > 0 })));
    expect(results[2]).toEqual({ ok: false, error: { kind: 'MailboxFull', stream: 'lamp-hall', limit: 2 } });
  });
});

describe('given a journal written by an earlier host', () => {
  it('rehydrates the same state without re-running effects, then feeds it an observation', async () => {
    const first = await started(hostOn(openStore()).start(lampKind, 'lamp-hall', {}));
    await first.execute({ type: 'SwitchOn', by: 'a' });
    await first.execute({ type: 'SwitchOff', by: 'a' });
    await first.execute({ type: 'SwitchOn', by: 'a' });
    const before = first.persistedSnapshot();
    first.stop();

    let lit = 0;
    let observedState: unknown;
    const again = await started(
      hostOn(openStore()).start(
        lampKind,
        'lamp-hall',
        { actions: { lightBulb: () => void (lit += 1) } },
        { observe: (state) => ((observedState = state), { type: 'Observe' as const, bulbLit: false }) },
      ),
    );
    expect(observedState).toEqual({ status: 'on', switches: 3 });
    expect(lit).toBe(0);
    expect(again.state).toEqual({ status: 'off', switches: 4 });
    expect(again.version).toBe(4);
    expect(before).toMatchObject({ value: 'on', context: { switches: 3 } });
  });

  it('rehydrates from a snapshot plus the tail, also after compaction', async () => {
    const store = openStore();
    const lamp = await started(hostOn(store, 4).start(lampKind, 'lamp-hall', {}));
    for (let i = 0; i < 9; i++) await lamp.execute({ type: i % 2 === 0 ? 'SwitchOn' : 'SwitchOff', by: `u${i}` });
    expect((await store.loadSnapshot('lamp-hall'))?.version).toBe(8);
    await store.compact();
    expect(await store.streamSummary('lamp-hall')).toEqual({ stream: 'lamp-hall', version: 9, compactedThrough: 8 });
    const again = await started(hostOn(openStore()).start(lampKind, 'lamp-hall', {}));
    expect(again.persistedSnapshot()).toEqual(lamp.persistedSnapshot());
    expect(again.version).toBe(9);
  });

  it('a second writer on the same stream gets WrongExpectedVersion and keeps its state', async () => {
    const one = await started(hostOn(openStore()).start(lampKind, 'lamp-hall', {}));
    const two = await started(hostOn(openStore()).start(lampKind, 'lamp-hall', {}));
    expect((await one.execute({ type: 'SwitchOn', by: 'one' })).ok).toBe(true);
    expect(await two.execute({ type: 'SwitchOn', by: 'two' })).toEqual({
      ok: false,
      error: { kind: 'WrongExpectedVersion', stream: 'lamp-hall', expected: 0, actual: 1 },
    });
    expect(two.state).toEqual({ status: 'off', switches: 0 });
  });

  it('an event it cannot decode is a typed error, not a crash', async () => {
    const store = openStore();
    await store.append('lamp-hall', 0, [{ type: 'LampExploded.v1', data: {}, meta: { at: '2026-01-01T00:00:00Z', origin: 'x' } }]);
    const result = await hostOn(store).start(lampKind, 'lamp-hall', {});
    expect(result).toMatchObject({ ok: false, error: { kind: 'UndecodableEvent', version: 1, error: { kind: 'UnknownEventType' } } });
  });

  it('refuses a stream of another kind', async () => {
    expect(await hostOn(openStore()).start(lampKind, 'pod-default.web.u1', {})).toEqual({
      ok: false,
      error: { kind: 'WrongStreamKind', stream: 'pod-default.web.u1', expectedPrefix: 'lamp-' },
    });
  });
});

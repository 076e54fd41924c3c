// Live actors and replayed journals agree. Method: fast-check generates command sequences for each
// actor kind, snapshot intervals, compactions and a crash point (before or after an append's
// commit); an actor runs them on a real SQLite journal, then a fresh host rebuilds it from the file.
// The rebuilt state must equal the fold of exactly the events that committed, which is the live
// actor's state when no crash happened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActorHost, foldEvents, type AnyActorKind, type DomainEvent } from '../actors/index.js';
import { lampKind } from '../actors/host/lamp.kind.testing.js';
import { openSqliteJournal, type RecordedEvent, type SqliteEventStore } from '../journal/index.js';
import { ManualClock, SequentialIds } from '../kernel/index.js';
import { CrashingStore, SimulatedCrash, type CrashPlan } from './crashing-store.testing.js';
import { kindsUnderTest, type KindUnderTest } from './kinds-under-test.testing.js';

const openJournal = (path: string): SqliteEventStore => {
  const opened = openSqliteJournal(path, { integrityCheck: 'none' });
  if (!opened.ok) throw new Error(opened.error.kind);
  return opened.value;
};

const hostOn = (store: CrashingStore | SqliteEventStore, snapshotEveryEvents: number | undefined) =>
  new ActorHost({ store, clock: new ManualClock(Date.UTC(2026, 10, 1)), ids: new SequentialIds('c'), origin: 'edge-prop', ...(snapshotEveryEvents === undefined ? {} : { snapshotEveryEvents }) });

interface Run {
  readonly committed: readonly DomainEvent[];
  readonly livePersisted: unknown;
  readonly crashed: boolean;
}

/** Runs commands until done or crashed; returns the events that reached the journal. */
async function runLive(k: KindUnderTest, store: CrashingStore, commands: readonly { readonly type: string }[], snapshotEvery: number | undefined, compactEvery: number | undefined): Promise<Run> {
  const started = await hostOn(store, snapshotEvery).start(k.kind, k.stream, {});
  if (!started.ok) throw new Error(JSON.stringify(started.error));
  const actor = started.value;
  const committed: DomainEvent[] = [];
  for (const [i, command] of commands.entries()) {
    const decided = k.kind.decide(command, actor.state);
    try {
      const result = await actor.execute(command);
      if (result.ok) committed.push(...result.value.events);
      if (compactEvery !== undefined && i % compactEvery === compactEvery - 1) await store.compact();
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      // Crashed after the commit: the journal has the decided events although nobody heard back.
      if (decided.ok && (await committedAfterCrash(store))) committed.push(...decided.value);
      return { committed, livePersisted: actor.persistedSnapshot(), crashed: true };
    }
  }
  return { committed, livePersisted: actor.persistedSnapshot(), crashed: false };
}

let crashPlanOf: (store: CrashingStore) => CrashPlan | undefined = () => undefined;
const committedAfterCrash = (store: CrashingStore): Promise<boolean> => Promise.resolve(crashPlanOf(store)?.when === 'afterCommit');

async function readStream(store: SqliteEventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

function replayProperty(k: KindUnderTest) {
  return fc.asyncProperty(
    k.commands,
    fc.option(fc.record({ atAppend: fc.nat(30), when: fc.constantFrom('beforeCommit' as const, 'afterCommit' as const) }), { nil: undefined }),
    fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    async (commands, crash, snapshotEvery, compactEvery) => {
      const dir = mkdtempSync(join(tmpdir(), 'edgehive-replay-prop-'));
      const path = join(dir, 'edge.db');
      const raw = openJournal(path);
      const store = new CrashingStore(raw, crash);
      crashPlanOf = (s) => (s === store ? crash : undefined);
      try {
        const run = await runLive(k, store, commands, snapshotEvery, compactEvery);
        await raw.close();
        const again = openJournal(path);
        try {
          const rebuilt = await hostOn(again, snapshotEvery).start(k.kind, k.stream, {});
          expect(rebuilt.ok).toBe(true);
          if (!rebuilt.ok) return;
          const expected = k.kind.machine.getPersistedSnapshot(foldEvents(k.kind.machine, run.committed));
          expect(rebuilt.value.persistedSnapshot()).toEqual(expected);
          expect(rebuilt.value.version).toBe(run.committed.length);
          if (!run.crashed || crash?.when === 'beforeCommit') expect(rebuilt.value.persistedSnapshot()).toEqual(run.livePersisted);
          const held = await readStream(again, k.stream);
          expect(held.map((e) => ({ type: e.type, data: e.data }))).toEqual(run.committed.slice(run.committed.length - held.length));
        } finally {
          await again.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

const lampUnderTest: KindUnderTest = {
  kind: lampKind as unknown as AnyActorKind,
  stream: 'lamp-hall',
  commands: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant('SwitchOn'), by: fc.string({ maxLength: 3 }) }),
      fc.record({ type: fc.constant('SwitchOff'), by: fc.string({ maxLength: 3 }) }),
      fc.record({ type: fc.constant('Observe'), bulbLit: fc.boolean() }),
    ),
    { maxLength: 30 },
  ),
};

describe('live actor state equals the state rebuilt from its journal', () => {
  for (const k of [lampUnderTest, ...kindsUnderTest]) {
    it(`${k.kind.name}: for any commands, snapshots, compactions and crash point`, async () => {
      await fc.assert(replayProperty(k), { numRuns: 60 });
    });
  }
});

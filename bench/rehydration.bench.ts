// Actor rehydration: the time for a fresh host to rebuild one actor from a 10,000-event stream,
// from the journal alone and from a snapshot plus its tail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorHost, foldEvents, type AnyActorKind, type DomainEvent } from '../actors/index.js';
import { openSqliteJournal } from '../journal/index.js';
import { ManualClock, SequentialIds, type JsonValue } from '../kernel/index.js';

export interface RehydrationFigure {
  readonly name: string;
  readonly events: number;
  readonly fullMs: number;
  readonly fromSnapshotMs: number;
  readonly eventsPerSecond: number;
}

/** Writes `events` to one stream, then times `ActorHost.start` on it (median of `rounds`). */
export async function rehydrationFigure(kind: AnyActorKind, stream: string, events: readonly DomainEvent[], rounds = 5): Promise<RehydrationFigure> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-bench-rehydrate-'));
  try {
    const path = join(dir, 'edge.db');
    const writer = openSqliteJournal(path);
    if (!writer.ok) throw new Error(writer.error.kind);
    const meta = { at: '2026-11-01T00:00:00.000Z', origin: 'bench' };
    for (let i = 0; i < events.length; i += 1000) {
      const result = await writer.value.append(stream, i, events.slice(i, i + 1000).map((e) => ({ ...e, meta })));
      if (!result.ok) throw new Error(result.error.kind);
    }
    await writer.value.close();
    const fullMs = await medianStartMs(kind, path, stream, rounds);
    // A snapshot 100 events before the head: the usual state of a host that snapshots periodically.
    const snapshotVersion = events.length - 100;
    const machine = kind.machine.getPersistedSnapshot(foldEvents(kind.machine, events.slice(0, snapshotVersion))) as unknown as JsonValue;
    const reopened = openSqliteJournal(path);
    if (!reopened.ok) throw new Error(reopened.error.kind);
    await reopened.value.saveSnapshot({ stream, version: snapshotVersion, state: { kind: kind.name, machine }, at: meta.at });
    await reopened.value.close();
    const fromSnapshotMs = await medianStartMs(kind, path, stream, rounds);
    return { name: `${kind.name} actor rehydration, ${events.length} events`, events: events.length, fullMs, fromSnapshotMs, eventsPerSecond: events.length / (fullMs / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function medianStartMs(kind: AnyActorKind, path: string, stream: string, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const opened = openSqliteJournal(path, { integrityCheck: 'none' });
    if (!opened.ok) throw new Error(opened.error.kind);
    const start = process.hrtime.bigint();
    const started = await new ActorHost({ store: opened.value, clock: new ManualClock(0), ids: new SequentialIds('b'), origin: 'bench' }).start(kind, stream, {});
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (!started.ok) throw new Error(started.error.kind);
    await opened.value.close();
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;
}

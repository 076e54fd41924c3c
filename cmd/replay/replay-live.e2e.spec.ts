// `edgehive replay` rebuilds what live actors had. Method: given a journal written by live node,
// pod and twin actors (the sample life, and one random command sequence per kind), when the real
// CLI replays a stream as JSON, then its state and XState snapshot equal the live actor's, at the
// end and at any `--until` point; after compaction it says where history begins.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorHost } from '../../actors/index.js';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { ManualClock, SequentialIds } from '../../kernel/index.js';
import { kindsUnderTest } from '../../properties/kinds-under-test.testing.js';
import { playSampleLife, sampleStreams, type LiveOutcome } from '../demo/sample-life.js';
import { runCli } from './cli-harness.testing.js';

let dir: string;
let path: string;

const open = (): SqliteEventStore => {
  const opened = openSqliteJournal(path);
  if (!opened.ok) throw new Error(opened.error.kind);
  return opened.value;
};

/** What the live actor exposes, as it reads after a trip through JSON. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

async function replayJson(...args: string[]): Promise<{ version: number; state: unknown; machine: unknown; compactedThrough: number; startsFromSnapshotAt: number | null }> {
  const result = await runCli(['replay', path, ...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-replay-live-'));
  path = join(dir, 'edge.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('given a journal written by the live sample actors', () => {
  it('replays each stream to the live final state and machine snapshot', async () => {
    const store = open();
    const live = await playSampleLife(store);
    await store.close();
    expect(live.map((o) => o.stream).sort()).toEqual(Object.values(sampleStreams).sort());
    for (const outcome of live) {
      const replayed = await replayJson('--stream', outcome.stream);
      expect(replayed.version, outcome.stream).toBe(outcome.version);
      expect(replayed.state, outcome.stream).toEqual(asJson(outcome.state));
      expect(replayed.machine, outcome.stream).toEqual(asJson(outcome.machine));
    }
  });

  it('rebuilds the state the live pod had at a given version or time', async () => {
    const seen: (LiveOutcome & { at: number })[] = [];
    const store = open();
    await playSampleLife(store, { onStep: (o) => seen.push(o) });
    await store.close();
    const podSteps = seen.filter((o) => o.stream === sampleStreams.pod);
    const middle = podSteps[Math.floor(podSteps.length / 2)];
    if (middle === undefined) throw new Error('the sample pod took no steps');
    const atVersion = await replayJson('--stream', middle.stream, '--until', String(middle.version));
    expect(atVersion.version).toBe(middle.version);
    expect(atVersion.state).toEqual(asJson(middle.state));
    expect(atVersion.machine).toEqual(asJson(middle.machine));
    // The events of that step carry its time, so --until that instant lands on the same state.
    const atTime = await replayJson('--stream', middle.stream, '--until', new Date(middle.at).toISOString());
    expect(atTime.version).toBe(middle.version);
    expect(atTime.state).toEqual(asJson(middle.state));
  });

  it('says where compacted history begins and still rebuilds the live state', async () => {
    const store = open();
    const live = await playSampleLife(store, { snapshotEveryEvents: 3 });
    const report = await store.compact();
    await store.close();
    expect(report.eventsRemoved).toBeGreaterThan(0);
    const pod = live.find((o) => o.stream === sampleStreams.pod);
    if (pod === undefined) throw new Error('no sample pod');
    const replayed = await replayJson('--stream', pod.stream);
    expect(replayed.compactedThrough).toBeGreaterThan(0);
    expect(replayed.startsFromSnapshotAt).toBe(replayed.compactedThrough);
    expect(replayed.state).toEqual(asJson(pod.state));
    expect(replayed.machine).toEqual(asJson(pod.machine));

    const text = await runCli(['replay', path, '--stream', pod.stream]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`history through v${replayed.compactedThrough} was compacted; rebuilt from the snapshot at v${replayed.compactedThrough}`);
    const listing = await runCli(['replay', path]);
    expect(listing.stdout).toMatch(new RegExp(`^${pod.stream.replace(/\./g, '\\.')}\\tpod\\tv${pod.version}\\tfrom v${replayed.compactedThrough + 1}\\t`, 'm'));
    const tooEarly = await runCli(['replay', path, '--stream', pod.stream, '--until', '1']);
    expect(tooEarly.code).toBe(1);
    expect(tooEarly.stderr).toContain(`history through v${replayed.compactedThrough} was compacted`);
  });
});

describe('given a journal written by a live actor running random commands', () => {
  for (const k of kindsUnderTest) {
    it(`replays the ${k.kind.name} to the live state`, async () => {
      // The longest of a few fixed-seed samples, so the actor goes through many transitions.
      const samples = fc.sample(k.commands, { seed: 20261126, numRuns: 20 });
      const commands = samples.reduce((a, b) => (b.length > a.length ? b : a), samples[0] ?? []);
      const store = open();
      const host = new ActorHost({ store, clock: new ManualClock(Date.UTC(2026, 10, 1)), ids: new SequentialIds('e2e'), origin: 'edge-1' });
      const started = await host.start(k.kind, k.stream, {});
      if (!started.ok) throw new Error(started.error.kind);
      const actor = started.value;
      for (const command of commands) await actor.execute(command);
      const live = { version: actor.version, state: actor.state, machine: actor.persistedSnapshot() };
      actor.stop();
      await store.close();
      expect(live.version).toBeGreaterThan(0);
      const replayed = await replayJson('--stream', k.stream);
      expect(replayed.version).toBe(live.version);
      expect(replayed.state).toEqual(asJson(live.state));
      expect(replayed.machine).toEqual(asJson(live.machine));
    });
  }
});

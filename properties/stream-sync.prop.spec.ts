// The cloud–edge stream's invariants (PROTOCOL.md "Invariants the properties check"), as
// properties. Method: deterministic simulation (STYLE R17, as TigerBeetle's VOPR). fast-check
// generates limits and a schedule of steps — time passing, edge events, desired-set changes
// (revisions, status-only touches, deletions, re-creations under a new uid), drops, duplicates,
// reorders, delays, disconnects, crashes of either side between any two events, journal resets and
// cluster resets. The pure cores run in simulated hosts over a simulated network and disks whose
// commit points are explicit (a crash loses what was not fsynced). After the schedule, faults stop
// and the world runs until quiescent; then every invariant is checked. Invariant 4 is checked at
// the instant of every ack (the data it covers must already be durable), which is the same as
// crashing the receiver at every instant. A failure prints seed and path: FC_SEED=<seed> replays it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSchedule, worldConfigArbitrary, worldStepArbitrary, type StepWeights, type WorldConfig } from './stream-world.testing.js';

const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const schedule = (weights: StepWeights, maxLength: number) => fc.array(worldStepArbitrary(weights), { minLength: 10, maxLength, size: 'max' });

const holds = (nodes: readonly string[], weights: StepWeights, numRuns: number, maxLength = 120) =>
  fc.assert(
    fc.property(worldConfigArbitrary(nodes), schedule(weights, maxLength), (config, steps) => {
      expect(runSchedule(config, steps).failures).toEqual([]);
    }),
    { numRuns, ...seed },
  );

describe('the simulation', () => {
  it('reaches every path the invariants are about: full resyncs, gaps, ack timeouts, compaction, lost writes, full windows, dedupe, removal at synced', () => {
    const samples = fc.sample(fc.tuple(worldConfigArbitrary(['edge-a', 'edge-b']), schedule({ faults: 3, crashes: 2, resets: 2 }, 120)), { numRuns: 300, seed: 20_260_101 });
    const totals: Record<string, number> = {};
    for (const [config, steps] of samples) {
      for (const [name, count] of Object.entries(runSchedule(config, steps).world.stats)) totals[name] = (totals[name] ?? 0) + count;
    }
    const paths = ['fullResyncs', 'resumedLinks', 'gapResumes', 'ackTimeoutResumes', 'compactions', 'writesLostInCrashes', 'windowsFull', 'duplicateRevisionsIgnored', 'objectsRemovedAtSynced'];
    expect(paths.filter((path) => !(totals[path]! > 0))).toEqual([]);
  });

  it('given an edge that crashed with its hello in flight and was re-provisioned, when that hello arrives late, then it is refused and changes nothing', () => {
    const config: WorldConfig = {
      nodes: ['edge-a'],
      flow: { unackedFramesMax: 4, unackedBytesMax: 1000, frameBytesMax: 4096, ackTimeoutMs: 500 },
      ack: { ackEveryFrames: 2, ackDelayMs: 10, applyQueueFramesMax: 4 },
      latencyMs: 5,
      fsyncMs: 2,
      synchronous: 'FULL',
      restartMs: 10,
    };
    const { failures, world } = runSchedule(config, [
      { t: 'produce', node: 0, key: 0, value: 1, count: 3 },
      { t: 'run', ms: 200 },
      { t: 'disconnect', node: 0 },
      { t: 'run', ms: 50 }, // the edge reconnects: its hello is in flight
      { t: 'delay', node: 0, direction: 'toCloud', ms: 3000 },
      { t: 'crashEdge', node: 0 },
      { t: 'resetJournal', node: 0 },
      { t: 'run', ms: 1000 }, // the re-provisioned edge links and reports under its new journal
      { t: 'produce', node: 0, key: 1, value: 2, count: 2 },
      { t: 'run', ms: 3000 }, // the stale hello arrives
    ]);
    expect(world.refusals).toEqual([expect.stringMatching(/^journal journal-edge-a-1 was replaced by journal-edge-a-2/)]);
    expect(failures).toEqual([]);
  });
});

describe('the cloud–edge stream, under any fault schedule', () => {
  it('converges once faults heal: desired set stored at the edge, outbox applied at the cloud (invariants 1, 2), each exactly once and in order (3), nothing acked lost (4)', () => {
    holds(['edge-a'], { faults: 3, crashes: 3, resets: 0 }, 1500);
  });

  it('after journal resets and cluster resets (new uids, or the same uids restored at lower resourceVersions) a full resync again satisfies 1–4 (invariant 6)', () => {
    holds(['edge-a'], { faults: 2, crashes: 2, resets: 3 }, 1000);
  });

  it('with two nodes, no edge ever receives an object outside its desired set (invariant 5), and both converge', () => {
    holds(['edge-a', 'edge-b'], { faults: 3, crashes: 2, resets: 1 }, 600);
  });

  it('is strong enough to catch a disk that acknowledges before fsync (synchronous=NORMAL)', () => {
    let seen: readonly string[] = [];
    const outcome = fc.check(
      fc.property(worldConfigArbitrary(['edge-a'], 'NORMAL'), schedule({ faults: 1, crashes: 3, resets: 0 }, 60), (config, steps) => {
        const { failures } = runSchedule(config, steps);
        if (failures.length > 0) seen = failures;
        return failures.length === 0;
      }),
      { numRuns: 200, endOnFailure: true, ...seed },
    );
    expect(outcome.failed).toBe(true);
    expect(seen.join('\n')).toMatch(/before its commit was durable|while NodeSync durably holds/);
  });
});

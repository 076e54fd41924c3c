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
import { runSchedule, worldConfigArbitrary, worldStepArbitrary, type StepWeights } from './stream-world.testing.js';

const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const schedule = (weights: StepWeights, maxLength: number) => fc.array(worldStepArbitrary(weights), { minLength: 10, maxLength });

const holds = (nodes: readonly string[], weights: StepWeights, numRuns: number, maxLength = 120) =>
  fc.assert(
    fc.property(worldConfigArbitrary(nodes), schedule(weights, maxLength), (config, steps) => {
      expect(runSchedule(config, steps).failures).toEqual([]);
    }),
    { numRuns, ...seed },
  );

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
      { numRuns: 200, ...seed },
    );
    expect(outcome.failed).toBe(true);
    expect(seen.join('\n')).toMatch(/before its commit was durable|while NodeSync durably holds/);
  });
});

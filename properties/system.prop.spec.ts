// The whole system converges under any schedule (issue 9; PROTOCOL.md "Invariants the properties
// check" plus: no pod runs on two nodes, every twin equals its Device). Method: deterministic
// simulation of everything in one process (system-world.testing.ts) as a fast-check model-based
// test: each run is a seed's configuration and 200 commands (workloads, devices, mapper reports,
// container exits, and faults: drops, duplicates, reorders, delays, disconnects, partitions, clock
// skew, crashes and restarts of cloud and edges, journal and API resets), run by fc.modelRun; after
// them faults stop, the world runs until quiescent and every invariant is checked. "No pod on two
// nodes" is checked after every command. A failure prints seed and path: FC_SEED=<seed> (and
// FC_PATH=<path>) replays exactly that run.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSystem, SystemWorld, systemConfigArbitrary, systemStepArbitrary, type SystemConfig, type SystemStep } from './system-world.testing.js';

/** FC_SEED replays every property of this file; FC_PATH is the main property's (a path means nothing to another property). */
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const replay = { ...seed, ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }) };
const NODES = ['edge-a', 'edge-b'];
/** Commands per run: fc.commands has no minimum length, so each run is exactly this many. */
const STEPS_PER_RUN = 200;
const RUNS = 200;

/** One schedule step as a model-based command; the model is the step count, the oracle the world's invariants. */
class SystemCommand implements fc.Command<{ steps: number }, SystemWorld> {
  constructor(readonly step: SystemStep) {}
  check(): boolean {
    return true;
  }
  run(model: { steps: number }, world: SystemWorld): void {
    world.apply(this.step);
    model.steps += 1;
    expect(world.stream.violations).toEqual([]);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

/** The fastest world (every delay 1 ms, acks at once) with a window of `unackedFramesMax` frames, for the hand-kept schedules. */
const quickConfig = (unackedFramesMax: number): SystemConfig => ({
  stream: {
    nodes: NODES,
    flow: { unackedFramesMax, unackedBytesMax: 8000, frameBytesMax: 65_536, ackTimeoutMs: 500 },
    ack: { ackEveryFrames: 1, ackDelayMs: 0, applyQueueFramesMax: unackedFramesMax },
    latencyMs: 1,
    fsyncMs: 1,
    synchronous: 'FULL',
    restartMs: 5,
  },
  apiLatencyMs: 1,
  passDelayMs: 1,
  startMs: 1,
  stopMs: 1,
});

const commands = fc.array(systemStepArbitrary().map((step) => new SystemCommand(step)), { minLength: STEPS_PER_RUN, maxLength: STEPS_PER_RUN });

describe('the whole-system simulation', () => {
  it('reaches what the invariants are about: pods run and exit, mapper reports land, devices move, writes are fenced, links resume and resync fully', () => {
    const samples = fc.sample(fc.tuple(systemConfigArbitrary(NODES), fc.array(systemStepArbitrary(), { minLength: 120, maxLength: 120 })), { numRuns: 30, seed: 20_261_127 });
    const totals: Record<string, number> = {};
    const add = (stats: object) => {
      for (const [name, count] of Object.entries(stats)) if (typeof count === 'number') totals[name] = (totals[name] ?? 0) + count;
    };
    for (const [config, steps] of samples) {
      const { world } = runSystem(config, steps);
      add(world.stats);
      add(world.writes.stats);
      add(world.stream.stats);
      add(world.controllers?.stats ?? {});
    }
    const paths = [
      'podsRunning',
      'containerExits',
      'mapperUpdatesAccepted',
      'connectionsCutOff',
      'framesLostSilently',
      'podStatusWrites',
      'podStatusFenced',
      'podsDeletedByKubelet',
      'deviceStatusWrites',
      'deviceStatusSkipped',
      'fullResyncs',
      'resumedLinks',
      'writesLostInCrashes',
      'compactions',
      'restoresFromBackup',
      'resetsWithNewUids',
      'clockSkews',
      'rollouts',
      'deviceMoves',
      'configMapChanges',
      'secretChanges',
      'stateReportsAccepted',
    ];
    expect(paths.filter((path) => !(totals[path]! > 0))).toEqual([]);
  });
});

describe('cloud, edges, pods and twins, under any schedule of workloads and faults', () => {
  it(`converges after healing in ${RUNS} seeds × ${STEPS_PER_RUN} steps: invariants 1–6, no pod on two nodes, every twin equals its Device`, () => {
    fc.assert(
      fc.property(systemConfigArbitrary(NODES), commands, (config: SystemConfig, cmds) => {
        const world = new SystemWorld(config);
        fc.modelRun(() => ({ model: { steps: 0 }, real: world }), cmds);
        expect(world.healAndCheck()).toEqual([]);
      }),
      // A failure is reported at once (seed and path) rather than shrunk: shrinking 200 steps can take
      // minutes. FC_SEED and FC_PATH replay exactly that run.
      { numRuns: RUNS, endOnFailure: true, ...replay },
    );
  }, 600_000);

  it('is strong enough to catch a disk that acknowledges before fsync (synchronous=NORMAL)', () => {
    let seen: readonly string[] = [];
    const outcome = fc.check(
      fc.property(systemConfigArbitrary(NODES), fc.array(systemStepArbitrary(), { minLength: 100, maxLength: 100 }), (config, steps) => {
        const { failures } = runSystem({ ...config, stream: { ...config.stream, synchronous: 'NORMAL' } }, steps);
        if (failures.length > 0) seen = failures;
        return failures.length === 0;
      }),
      { numRuns: 200, endOnFailure: true, ...seed },
    );
    expect(outcome.failed).toBe(true);
    expect(seen.join('\n')).toMatch(/before its commit was durable|while NodeSync durably holds/);
  });
});

describe('the checks themselves', () => {
  it('given an edge whose outbox was compacted through its head, when the API server is reset, then the cloud applied nothing of it and nothing is missing (the up position check counts from the floor)', () => {
    const config = quickConfig(7);
    const { failures, world } = runSystem(config, [
      { t: 'createDevice', name: 1, node: 0 },
      { t: 'run', ms: 292 },
      { t: 'deleteDevice', name: 1 },
      { t: 'compact', node: 0 },
      { t: 'runEvents', events: 18 },
      { t: 'resetCluster', sameUids: true, lostMask: 193 },
    ]);
    expect(failures).toEqual([]);
    const journal = world.stream.edgeDisk('edge-a').durable;
    expect(journal.head).toBeGreaterThan(0);
    expect(journal.floor).toBe(journal.head);
  });
});

describe('bugs the simulator found, kept as the schedules that found them', () => {
  it('given a pod in restart back-off, when its edge restarts, then the restart still happens (the back-off timer died with the host and nothing armed it again)', () => {
    const config = quickConfig(2);
    const { failures, world } = runSystem(config, [
      { t: 'createDeployment', name: 0, replicas: 1 },
      { t: 'run', ms: 9 },
      { t: 'containerExits', node: 0, index: 0, exitCode: 0 },
      { t: 'runEvents', events: 10 },
      { t: 'crashEdge', node: 0 },
      { t: 'containerExits', node: 0, index: 0, exitCode: 0 },
    ]);
    expect(failures).toEqual([]);
    const pods = [...world.apps.get('edge-a')!.pods().values()];
    expect(pods.map((pod) => [pod.state.status, pod.status?.['phase']])).toEqual([['running', 'Running']]);
  });

  it('given a DeviceModel tombstoned at an edge whose ack was lost with the link, when a Device brings it back unchanged, then the edge holds it again (the resume compared hashes and sent nothing)', () => {
    // A 200-step schedule of the first sample run (seed 42), kept whole: the tombstone's ack had to be
    // lost exactly while the model left the node and came back with another Device.
    const { config, steps } = JSON.parse(readFileSync(new URL('./system-regression.tombstone-ack-lost.json', import.meta.url), 'utf8')) as { config: SystemConfig; steps: SystemStep[] };
    const { failures, world } = runSystem(config, steps);
    expect(failures).toEqual([]);
    expect([...world.stream.edgeDisk('edge-a').durable.objects.keys()]).toContain('devicemodels/plant/thermo-model');
  });

  it('given an API server restored from a backup that predates a Device’s desired change, when the edge syncs, then its twin takes the restored desired values (the lower generation was refused as older)', () => {
    // A 200-step schedule (seed 8, run 52), kept whole.
    const { config, steps } = JSON.parse(readFileSync(new URL('./system-regression.restored-generation.json', import.meta.url), 'utf8')) as { config: SystemConfig; steps: SystemStep[] };
    expect(steps.some((step) => step.t === 'restoreCluster')).toBe(true);
    expect(runSystem(config, steps).failures).toEqual([]);
  });

  it('given a Device whose state a mapper reported on one node, when its twin starts over on another (a move, a restore), then the Device’s state is that twin’s (it kept the old node’s)', () => {
    // A 200-step schedule (seed 31, run 192), kept whole.
    const { config, steps } = JSON.parse(readFileSync(new URL('./system-regression.device-state-moved.json', import.meta.url), 'utf8')) as { config: SystemConfig; steps: SystemStep[] };
    expect(runSystem(config, steps).failures).toEqual([]);
  });

  it('given a ConfigMap changed while the change’s ack was lost with the link, when it is changed back to what the edge had acked, then the edge gets it again (the resume compared hashes and sent nothing)', () => {
    // A 200-step schedule (seed 11, run 233), kept whole: the revert had to come while the ack was lost.
    const { config, steps } = JSON.parse(readFileSync(new URL('./system-regression.content-reverted.json', import.meta.url), 'utf8')) as { config: SystemConfig; steps: SystemStep[] };
    const { failures, world } = runSystem(config, steps);
    expect(failures).toEqual([]);
    const held = world.stream.edgeDisk('edge-b').durable.objects.get('configmaps/default/settings-0');
    expect(held?.contentHash).toBe(world.view.desiredSet('edge-b').objects.get(held?.uid ?? '')?.contentHash);
  });
});

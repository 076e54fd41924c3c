// Device twins converge: for any interleaving of cloud desired updates, mapper reports, link cuts,
// edge crashes and re-applied up events, once faults stop the edge's twin and the Device object in
// the API agree. Method: fast-check commands (STYLE R17) against a deliberately simple model (is the
// link up), run on TwinWorld (twin-world.testing.ts): the production DeviceTwinHost over an
// ActorHost and an in-memory journal that outlives crashes, and the cloud's production status
// planner applied to a model of the Device. Then the world heals (link up, down delivered, outbox
// committed and applied until quiet) and convergenceFailures must be empty. A failure prints seed,
// path and replayPath; FC_SEED=<seed> replays it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convergenceFailures, PROPERTIES, TwinWorld, type PropertyName } from './twin-world.testing.js';

const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
/** Steps per run: enough for several crashes and desired changes between deliveries. */
const STEPS_MAX = 40;
/** Runs of the property (a few seconds on two cores); FC_RUNS=<n> searches longer. */
const RUNS = Number(process.env.FC_RUNS ?? 500);

/** The model the commands are checked against: only whether the link is up (the world does the rest). */
interface LinkModel {
  connected: boolean;
}
type Step = fc.AsyncCommand<LinkModel, TwinWorld>;

const propertyName = fc.constantFrom(...PROPERTIES.map((p) => p.name));
const typeOf = (name: PropertyName): string => PROPERTIES.find((p) => p.name === name)!.type;
/** A value of the property's type as a mapper or kubectl writes it: '21.5' for FLOAT, '3' for INT. */
const valueFor = (name: PropertyName): fc.Arbitrary<string> =>
  typeOf(name) === 'INT' ? fc.integer({ min: -5, max: 5 }).map(String) : fc.integer({ min: -300, max: 300 }).map((tenths) => String(tenths / 10));

class SetDesired implements Step {
  constructor(readonly name: PropertyName, readonly value: string | null) {}
  check = (): boolean => true;
  run = async (_: LinkModel, world: TwinWorld): Promise<void> => world.setDesired(this.name, this.value);
  toString = (): string => `setDesired(${this.name}, ${JSON.stringify(this.value)})`;
}

class MapperReports implements Step {
  constructor(readonly name: PropertyName, readonly value: string) {}
  check = (): boolean => true;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.mapperReports(this.name, this.value);
  toString = (): string => `mapperReports(${this.name}, ${JSON.stringify(this.value)})`;
}

class MapperBurst implements Step {
  constructor(readonly reports: readonly { readonly name: PropertyName; readonly value: string }[], readonly withDown: boolean) {}
  check = (): boolean => true;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.burst(this.reports, this.withDown);
  toString = (): string => `burst(${JSON.stringify(this.reports)}, withDown: ${this.withDown})`;
}

class MapperReportsState implements Step {
  constructor(readonly state: string) {}
  check = (): boolean => true;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.mapperReportsState(this.state);
  toString = (): string => `mapperReportsState(${JSON.stringify(this.state)})`;
}

class Disconnect implements Step {
  check = (model: Readonly<LinkModel>): boolean => model.connected;
  run = async (model: LinkModel, world: TwinWorld): Promise<void> => {
    model.connected = false;
    world.disconnect();
  };
  toString = (): string => 'disconnect';
}

class Reconnect implements Step {
  check = (model: Readonly<LinkModel>): boolean => !model.connected;
  run = async (model: LinkModel, world: TwinWorld): Promise<void> => {
    model.connected = true;
    world.reconnect();
  };
  toString = (): string => 'reconnect';
}

class DeliverDown implements Step {
  check = (model: Readonly<LinkModel>): boolean => model.connected;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.deliverDown();
  toString = (): string => 'deliverDown';
}

class DeliverDownThenCrash implements Step {
  check = (model: Readonly<LinkModel>): boolean => model.connected;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.deliverDownThenCrash();
  toString = (): string => 'deliverDownThenCrash';
}

class DeliverUp implements Step {
  constructor(readonly count: number) {}
  check = (model: Readonly<LinkModel>): boolean => model.connected;
  run = async (_: LinkModel, world: TwinWorld): Promise<void> => world.deliverUp(this.count);
  toString = (): string => `deliverUp(${this.count})`;
}

class DuplicateUp implements Step {
  constructor(readonly pick: number) {}
  check = (): boolean => true;
  run = async (_: LinkModel, world: TwinWorld): Promise<void> => {
    world.duplicateUp(this.pick);
    // Checked at once, so the shrunk path ends at the re-application that changed something.
    expect(world.duplicateChanges).toEqual([]);
  };
  toString = (): string => `duplicateUp(${this.pick})`;
}

class FlushOutbox implements Step {
  check = (): boolean => true;
  run = async (_: LinkModel, world: TwinWorld): Promise<void> => world.flushOutbox();
  toString = (): string => 'flushOutbox';
}

class CrashEdge implements Step {
  check = (): boolean => true;
  run = (_: LinkModel, world: TwinWorld): Promise<void> => world.crashEdge();
  toString = (): string => 'crashEdge';
}

/** `arbitrary` repeated `weight` times: fc.commands picks among its arbitraries uniformly. */
const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T>[] => Array.from({ length: weight }, () => arbitrary);

const steps: fc.Arbitrary<Step>[] = [
  ...weighted(3, propertyName.chain((name) => fc.option(valueFor(name), { nil: null, freq: 5 }).map((value) => new SetDesired(name, value)))),
  ...weighted(4, propertyName.chain((name) => fc.oneof({ weight: 9, arbitrary: valueFor(name) }, { weight: 1, arbitrary: fc.constant('hot') }).map((value) => new MapperReports(name, value)))),
  fc
    .tuple(fc.array(propertyName.chain((name) => valueFor(name).map((value) => ({ name, value }))), { minLength: 2, maxLength: 4 }), fc.boolean())
    .map(([reports, withDown]) => new MapperBurst(reports, withDown)),
  fc.constantFrom('online', 'offline', 'OK', 'exploded').map((state) => new MapperReportsState(state)),
  fc.constant(new Disconnect()),
  fc.constant(new Reconnect()),
  ...weighted(2, fc.constant(new DeliverDown())),
  ...weighted(3, fc.integer({ min: 1, max: 4 }).map((count) => new DeliverUp(count))),
  ...weighted(2, fc.nat(64).map((pick) => new DuplicateUp(pick))),
  ...weighted(3, fc.constant(new FlushOutbox())),
  fc.constant(new CrashEdge()),
  fc.constant(new DeliverDownThenCrash()),
];

const snapshotEvery = fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined });

/** Runs `commands` on a fresh world, heals it, and returns it. */
async function runHealed(commands: Iterable<Step>, snapshotEveryEvents: number | undefined): Promise<TwinWorld> {
  const world = await TwinWorld.create(snapshotEveryEvents === undefined ? {} : { snapshotEveryEvents });
  await fc.asyncModelRun(() => ({ model: { connected: true }, real: world }), commands);
  await world.heal();
  return world;
}

describe('device twin convergence', () => {
  it('the steps reach what the property is about: refused and accepted updates, lost reports, stale and duplicate applications, crashes', async () => {
    const samples = fc.sample(fc.tuple(fc.commands(steps, { maxCommands: STEPS_MAX, size: 'max' }), snapshotEvery), { numRuns: 40, seed: 20_260_108 });
    const totals: Record<string, number> = {};
    for (const [commands, every] of samples) {
      const world = await runHealed(commands, every);
      for (const [name, count] of Object.entries(world.stats)) totals[name] = (totals[name] ?? 0) + count;
    }
    expect(Object.entries(totals).filter(([, count]) => count === 0)).toEqual([]);
  });

  it('for any interleaving of desired updates, mapper reports, disconnects and edge crashes, the healed twin equals the Device in the API', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(steps, { maxCommands: STEPS_MAX, size: 'max' }), snapshotEvery, async (commands, every) => {
        const world = await runHealed(commands, every);
        expect(convergenceFailures(world)).toEqual([]);
      }),
      { numRuns: RUNS, ...seed },
    );
  });
});

describe('regressions the property found', () => {
  // Shrunk by the property (seed -24384936, path "228:2:5:12:12:11:12:12", replayPath "NMs:F"):
  // deliverDown, setDesired(temperature, null), deliverDown, flushOutbox, deliverUp(2), duplicateUp(0).
  it('given a Device whose twin entries all went away, when an older report is applied again, then the status does not change and, healed, still shows the twin', async () => {
    const world = await TwinWorld.create();
    await world.deliverDown();
    await world.heal();
    world.setDesired('temperature', null);
    await world.heal();
    // The twin and its (unknown) state when it was added, then the twin after the change.
    expect(world.upApplied).toBe(3);
    // The property has no value left, yet its entry stays (observedDesired "") and carries the fence.
    const before = JSON.stringify(world.device['status']);
    expect(before).toContain('"propertyName":"temperature"');
    world.duplicateUp(0);
    expect(JSON.stringify(world.device['status'])).toBe(before);
    await world.heal();
    expect(convergenceFailures(world)).toEqual([]);
  });
});

// fast-check generators of pod command sequences, valid and invalid mixed, naming mostly the pod's
// own containers and a few run ids so reports often match, with time moving forward inside them.
import fc from 'fast-check';
import type { ContainerInput, PodCommand, PodSpecInput } from './pod.decider.js';
import { restartPolicies } from './pod.events.js';

const startMs = Date.UTC(2026, 10, 1);
const iso = (ms: number): string => new Date(ms).toISOString();
const containerNames = ['init-a', 'app', 'side'] as const;
const runIds = ['r1', 'r2', 'r3'] as const;

/** One container in sixteen has no command, so admission sometimes fails. */
const containerArbitrary = (name: string): fc.Arbitrary<ContainerInput> =>
  fc.oneof(
    { arbitrary: fc.constantFrom<ContainerInput>({ name, command: ['/bin/sh', '-c', 'sleep 3600'] }, { name, command: ['/usr/bin/worker'], args: ['--once'] }, { name, command: ['/usr/bin/worker'], workingDir: '/srv' }), weight: 15 },
    { arbitrary: fc.constant<ContainerInput>({ name }), weight: 1 },
  );

/** Mostly valid specs; a command may be missing (admission fails) and one name in ten is invalid. */
export const podSpecArbitrary: fc.Arbitrary<PodSpecInput> = fc
  .record({
    restartPolicy: fc.option(fc.constantFrom(...restartPolicies), { nil: undefined }),
    terminationGracePeriodSeconds: fc.option(fc.constantFrom(0, 5, 30), { nil: undefined }),
    initContainers: fc.option(fc.tuple(containerArbitrary('init-a')), { nil: undefined }),
    containers: fc.oneof(
      { arbitrary: fc.tuple(containerArbitrary('app')).map((cs): ContainerInput[] => cs), weight: 5 },
      { arbitrary: fc.tuple(containerArbitrary('app'), containerArbitrary('side')).map((cs): ContainerInput[] => cs), weight: 5 },
      { arbitrary: fc.constant<ContainerInput[]>([]), weight: 1 },
    ),
    name: fc.oneof({ arbitrary: fc.constant('web'), weight: 9 }, { arbitrary: fc.constant('Web'), weight: 1 }),
  })
  .map(({ restartPolicy, terminationGracePeriodSeconds, initContainers, containers, name }) => ({
    namespace: 'default',
    name,
    uid: 'u1',
    nodeName: 'edge-1',
    ...(restartPolicy === undefined ? {} : { restartPolicy }),
    ...(terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds }),
    ...(initContainers === undefined ? {} : { initContainers }),
    containers,
  }));

/** Commands whose `at` is filled in once the sequence's clock is known. */
type Step = (atMs: number) => PodCommand | PodCommand[];

const runId = fc.constantFrom(...runIds);

/** Steps naming mostly the given containers, sometimes one the pod does not have. */
const stepArbitrary = (names: readonly string[]): fc.Arbitrary<Step> => {
  const container = fc.oneof({ arbitrary: fc.constantFrom(...names), weight: 9 }, { arbitrary: fc.constant('ghost'), weight: 1 });
  return fc.oneof(
  { arbitrary: podSpecArbitrary.map((spec): Step => (at) => ({ type: 'AdmitPod', data: { spec, at: iso(at) } })), weight: 1 },
  { arbitrary: fc.constant<Step>((at) => ({ type: 'StartPod', data: { at: iso(at) } })), weight: 2 },
  { arbitrary: fc.record({ container, runId }).map((d): Step => (at) => ({ type: 'ReportContainerStarted', data: { ...d, at: iso(at) } })), weight: 5 },
  {
    arbitrary: fc
      .record({ container, runId: fc.option(runId, { nil: null }), exitCode: fc.constantFrom(0, 0, 1, 137, -1), reason: fc.option(fc.constantFrom('OOMKilled', 'StartError'), { nil: undefined }) })
      .map(({ reason, ...d }): Step => (at) => ({ type: 'ReportContainerExited', data: { ...d, ...(reason === undefined ? {} : { reason }), at: iso(at) } })),
    weight: 5,
  },
  { arbitrary: container.map((c): Step => (at) => ({ type: 'RestartContainer', data: { container: c, at: iso(at) } })), weight: 3 },
  // Correlated chunks reach deeper states: a run that starts and later exits, a restart that starts.
  {
    arbitrary: fc.record({ container, runId, exitCode: fc.constantFrom(0, 1), ranMs: fc.constantFrom(5_000, 700_000) }).map(
      ({ container: c, runId: r, exitCode, ranMs }): Step =>
        (at) => [
          { type: 'ReportContainerStarted', data: { container: c, runId: r, at: iso(at) } },
          { type: 'ReportContainerExited', data: { container: c, runId: r, exitCode, at: iso(at + ranMs) } },
        ],
    ),
    weight: 4,
  },
  {
    arbitrary: fc.record({ container, runId }).map(
      ({ container: c, runId: r }): Step =>
        (at) => [
          { type: 'RestartContainer', data: { container: c, at: iso(at) } },
          { type: 'ReportContainerStarted', data: { container: c, runId: r, at: iso(at) } },
        ],
    ),
    weight: 3,
  },
  {
    arbitrary: fc.option(fc.constantFrom(0, 2, 30, -5), { nil: undefined }).map(
      (grace): Step =>
        (at) => ({ type: 'RequestTermination', data: { ...(grace === undefined ? {} : { gracePeriodSeconds: grace }), at: iso(at) } }),
    ),
    weight: 1,
  },
  {
    arbitrary: fc.uniqueArray(fc.record({ container: fc.constantFrom(...names), runId }), { maxLength: 3, selector: (p) => `${p.container}/${p.runId}` }).map(
      (alive): Step =>
        (at) => ({ type: 'ObserveRuntime', data: { alive, at: iso(at) } }),
    ),
    weight: 2,
  },
  );
};

const namesOf = (spec: PodSpecInput | undefined): readonly string[] =>
  spec === undefined || spec.containers.length === 0 ? containerNames : [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name);

/** Random pod command sequences; the pod is admitted and started first most of the time. */
export const podCommandsArbitrary: fc.Arbitrary<PodCommand[]> = fc
  .option(podSpecArbitrary, { nil: undefined, freq: 5 })
  .chain((spec) => fc.tuple(fc.constant(spec), fc.array(fc.tuple(stepArbitrary(namesOf(spec)), fc.constantFrom(0, 1_000, 15_000, 45_000, 400_000, 700_000)), { maxLength: 40, size: 'medium' })))
  .map(([spec, steps]) => {
    let at = startMs;
    const commands = steps.flatMap(([step, gapMs]) => {
      at += gapMs;
      const made = step(at);
      // A chunk may look ahead in time; the clock never goes back.
      at += Array.isArray(made) ? 700_000 : 0;
      return made;
    });
    if (spec === undefined) return commands;
    const admitted: PodCommand[] = [
      { type: 'AdmitPod', data: { spec, at: iso(startMs) } },
      { type: 'StartPod', data: { at: iso(startMs) } },
    ];
    return [...admitted, ...commands];
  });

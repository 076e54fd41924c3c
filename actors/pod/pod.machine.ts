// The pod machine: a pod's containers and lifecycle as a pure XState machine whose state is the
// status its containers imply, with effects as named actions the host provides.
import { assign, enqueueActions, setup } from 'xstate';
import type { ContainerSpec, PodEvent, PodRef, PodSpec, RunningProcess } from './pod.events.js';

export type TerminatedState = {
  readonly state: 'terminated';
  readonly exitCode: number;
  readonly reason: string;
  readonly message: string;
  readonly runId: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string;
};

/**
 * A container's state as Kubernetes reports it. Waiting reasons: `PodInitializing` (not asked to
 * start yet), `ContainerCreating` (the host was asked to start it), `CrashLoopBackOff` (waiting out
 * its restart delay).
 */
export type ContainerState =
  | { readonly state: 'waiting'; readonly reason: 'PodInitializing' | 'ContainerCreating' }
  | { readonly state: 'waiting'; readonly reason: 'CrashLoopBackOff'; readonly restartAt: string }
  | { readonly state: 'running'; readonly runId: string; readonly startedAt: string }
  | TerminatedState;

export type ContainerStatus = {
  readonly name: string;
  readonly init: boolean;
  readonly state: ContainerState;
  readonly lastState: TerminatedState | null;
  /** As `kubectl get pods` counts it: starts after the first. */
  readonly restartCount: number;
  /** The last restart delay decided, 0 before the first; the next one doubles it. */
  readonly backOffMs: number;
};

export type PodContext = {
  readonly spec: PodSpec | null;
  readonly admittedAt: string | null;
  /** Set when admission failed (e.g. a container without `command`). */
  readonly failure: { readonly reason: string; readonly message: string } | null;
  /** When the host first started the pod (Kubernetes `status.startTime`). */
  readonly startTime: string | null;
  readonly termination: { readonly requestedAt: string; readonly gracePeriodSeconds: number } | null;
  readonly initContainers: readonly ContainerStatus[];
  readonly containers: readonly ContainerStatus[];
};

export const emptyPodContext: PodContext = { spec: null, admittedAt: null, failure: null, startTime: null, termination: null, initContainers: [], containers: [] };

export const podStatuses = ['absent', 'pending', 'containerCreating', 'running', 'restarting', 'crashLoopBackOff', 'succeeded', 'failed', 'terminating', 'deleted'] as const;
export type PodStatus = (typeof podStatuses)[number];
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

const freshContainer = (name: string, init: boolean): ContainerStatus => ({ name, init, state: { state: 'waiting', reason: 'PodInitializing' }, lastState: null, restartCount: 0, backOffMs: 0 });

const isSucceeded = (c: ContainerStatus): boolean => c.state.state === 'terminated' && c.state.exitCode === 0;
const isWaiting = (c: ContainerStatus, reason: 'PodInitializing' | 'ContainerCreating' | 'CrashLoopBackOff'): boolean => c.state.state === 'waiting' && c.state.reason === reason;
/** Running, or asked to start: a process may exist. */
const isActive = (c: ContainerStatus): boolean => c.state.state === 'running' || isWaiting(c, 'ContainerCreating');

export const allContainers = (context: PodContext): readonly ContainerStatus[] => [...context.initContainers, ...context.containers];
export const containerNamed = (context: PodContext, name: string): ContainerStatus | undefined => allContainers(context).find((c) => c.name === name);

function updateContainer(context: PodContext, name: string, update: (c: ContainerStatus) => ContainerStatus): PodContext {
  const apply = (list: readonly ContainerStatus[]) => list.map((c) => (c.name === name ? update(c) : c));
  return { ...context, initContainers: apply(context.initContainers), containers: apply(context.containers) };
}

/** Applies one event to the pod's data. Total: an event that does not apply changes nothing. */
export function evolvePod(context: PodContext, event: PodEvent): PodContext {
  switch (event.type) {
    case 'PodAdmitted.v1': {
      if (context.spec !== null) return context;
      const { spec, at } = event.data;
      return {
        ...emptyPodContext,
        spec,
        admittedAt: at,
        initContainers: spec.initContainers.map((c) => freshContainer(c.name, true)),
        containers: spec.containers.map((c) => freshContainer(c.name, false)),
      };
    }
    case 'PodAdmissionFailed.v1':
      // A pod refused at admission has no container statuses, as with the kubelet.
      return context.spec !== null ? context : { ...emptyPodContext, spec: event.data.spec, admittedAt: event.data.at, failure: { reason: event.data.reason, message: event.data.message } };
    case 'ContainersStartRequested.v1': {
      if (context.spec === null) return context;
      const { containers, at } = event.data;
      const asked = containers.reduce((ctx, name) => updateContainer(ctx, name, (c) => ({ ...c, state: { state: 'waiting', reason: 'ContainerCreating' } })), context);
      return { ...asked, startTime: context.startTime ?? at };
    }
    case 'ContainerStarted.v1': {
      const { container, runId, at } = event.data;
      return updateContainer(context, container, (c) => ({ ...c, state: { state: 'running', runId, startedAt: at }, restartCount: c.lastState === null ? c.restartCount : c.restartCount + 1 }));
    }
    case 'ContainerExited.v1':
      return updateContainer(context, event.data.container, (c) => exited(c, event.data));
    case 'PodTerminationRequested.v1':
      return context.spec === null ? context : { ...context, termination: { requestedAt: event.data.at, gracePeriodSeconds: event.data.gracePeriodSeconds } };
    case 'RuntimeObserved.v1':
      // The scan's consequences are recorded as their own events; the scan itself only triggers effects.
      return context;
  }
}

function exited(c: ContainerStatus, data: Extract<PodEvent, { type: 'ContainerExited.v1' }>['data']): ContainerStatus {
  const terminated: TerminatedState = {
    state: 'terminated',
    exitCode: data.exitCode,
    reason: data.reason,
    message: data.message,
    runId: data.runId,
    startedAt: c.state.state === 'running' ? c.state.startedAt : null,
    finishedAt: data.at,
  };
  if (data.backOffMs === null) return { ...c, state: terminated };
  const restartAt = new Date(Date.parse(data.at) + data.backOffMs).toISOString();
  return { ...c, state: { state: 'waiting', reason: 'CrashLoopBackOff', restartAt }, lastState: terminated, backOffMs: data.backOffMs };
}

/**
 * The containers to start next: the first init container that has not succeeded (if it is not
 * started yet), else every app container not started yet. Empty while something is in progress.
 */
export function nextStartBatch(context: PodContext): readonly string[] {
  const init = context.initContainers.find((c) => !isSucceeded(c));
  if (init !== undefined) return isWaiting(init, 'PodInitializing') ? [init.name] : [];
  return context.containers.filter((c) => isWaiting(c, 'PodInitializing')).map((c) => c.name);
}

/** Kubernetes' pod phase from the container statuses (the kubelet's `getPhase`). */
export function phaseOf(context: PodContext): PodPhase {
  if (context.failure !== null) return 'Failed';
  if (context.startTime === null) return 'Pending';
  const init = context.initContainers.find((c) => !isSucceeded(c));
  // An init container left terminated failed and will not be restarted (policy Never).
  if (init !== undefined) return init.state.state === 'terminated' ? 'Failed' : 'Pending';
  const count = (p: (c: ContainerStatus) => boolean) => context.containers.filter(p).length;
  const waiting = count((c) => c.state.state === 'waiting' && c.lastState === null);
  const running = count((c) => c.state.state === 'running');
  const stopped = count((c) => c.state.state === 'terminated' || (c.state.state === 'waiting' && c.lastState !== null));
  const succeeded = count(isSucceeded);
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (context.termination !== null) return stopped === succeeded ? 'Succeeded' : 'Failed';
  if (stopped === 0 || context.spec?.restartPolicy === 'Always') return 'Running';
  if (stopped === succeeded) return 'Succeeded';
  return context.spec?.restartPolicy === 'Never' ? 'Failed' : 'Running';
}

/** The status the pod's data implies; the machine's state always equals it. */
export function podStatusOf(context: PodContext): PodStatus {
  if (context.spec === null) return 'absent';
  if (context.termination !== null) return allContainers(context).some(isActive) ? 'terminating' : 'deleted';
  if (context.failure === null && context.startTime === null) return 'pending';
  const phase = phaseOf(context);
  if (phase === 'Succeeded') return 'succeeded';
  if (phase === 'Failed') return 'failed';
  const containers = allContainers(context);
  if (containers.some((c) => isWaiting(c, 'CrashLoopBackOff'))) return 'crashLoopBackOff';
  if (phase === 'Pending') return 'containerCreating';
  return containers.some((c) => isWaiting(c, 'ContainerCreating')) ? 'restarting' : 'running';
}

/** What a runtime scan means for the pod, given which of its processes are alive. */
export type ObservationPlan = {
  /** Alive processes of containers the host was starting: the pod takes them over, no effect. */
  readonly adopted: readonly RunningProcess[];
  /** Containers believed running (or starting, while terminating) with no process: they exited. */
  readonly lost: readonly string[];
  /** Containers the host was asked to start that have no process: ask again. */
  readonly unstarted: readonly string[];
  /** Alive processes no container claims (old runs, or any of a deleted pod): kill them. */
  readonly orphans: readonly RunningProcess[];
  /** A terminating pod's containers still alive: stop them again, the earlier request died with the host. */
  readonly stillStopping: readonly RunningProcess[];
  /** Containers waiting out their restart back-off: the timer died with the host, arm it again. */
  readonly backingOff: readonly { readonly container: string; readonly restartAt: string; readonly backOffMs: number }[];
};

export function planObservation(context: PodContext, alive: readonly RunningProcess[]): ObservationPlan {
  const terminating = context.termination !== null;
  const plan = { adopted: [] as RunningProcess[], lost: [] as string[], unstarted: [] as string[], stillStopping: [] as RunningProcess[], backingOff: [] as { container: string; restartAt: string; backOffMs: number }[] };
  for (const c of allContainers(context)) {
    if (c.state.state === 'waiting' && c.state.reason === 'CrashLoopBackOff' && !terminating) plan.backingOff.push({ container: c.name, restartAt: c.state.restartAt, backOffMs: c.backOffMs });
    if (c.state.state === 'running') {
      const runId = c.state.runId;
      const found = alive.some((p) => p.container === c.name && p.runId === runId);
      if (!found) plan.lost.push(c.name);
      else if (terminating) plan.stillStopping.push({ container: c.name, runId });
    } else if (isWaiting(c, 'ContainerCreating')) {
      const found = alive.find((p) => p.container === c.name);
      if (found !== undefined) plan.adopted.push(found);
      else if (terminating) plan.lost.push(c.name);
      else plan.unstarted.push(c.name);
    }
  }
  const claimed = (p: RunningProcess) =>
    plan.adopted.includes(p) || allContainers(context).some((c) => c.name === p.container && c.state.state === 'running' && c.state.runId === p.runId);
  return { ...plan, orphans: alive.filter((p) => !claimed(p)) };
}

export const isEmptyPlan = (plan: ObservationPlan): boolean =>
  plan.adopted.length + plan.lost.length + plan.unstarted.length + plan.orphans.length + plan.stillStopping.length + plan.backingOff.length === 0;

const refOf = (context: PodContext): PodRef => ({ namespace: context.spec?.namespace ?? '', name: context.spec?.name ?? '', uid: context.spec?.uid ?? '' });
const runningRunIds = (context: PodContext): string[] => allContainers(context).flatMap((c) => (c.state.state === 'running' ? [c.state.runId] : []));

/** Seconds left of the grace period at `at`, rounded up: a re-sent stop keeps the original deadline. */
function graceLeftSeconds(termination: NonNullable<PodContext['termination']>, at: string): number {
  const elapsedMs = Date.parse(at) - Date.parse(termination.requestedAt);
  return Math.max(0, Math.ceil((termination.gracePeriodSeconds * 1000 - elapsedMs) / 1000));
}

export type StartContainersParams = { readonly pod: PodRef; readonly containers: readonly ContainerSpec[] };
export type StopContainersParams = { readonly pod: PodRef; readonly runIds: readonly string[]; readonly gracePeriodSeconds: number };
export type ScheduleRestartParams = { readonly pod: PodRef; readonly container: string; readonly delayMs: number; readonly restartAt: string };
export type KillProcessesParams = { readonly pod: PodRef; readonly runIds: readonly string[] };

/** In every status, move to the status the data implies once an event has been applied. */
const routed = (self: PodStatus) => ({
  always: podStatuses.filter((s) => s !== self).map((s) => ({ target: s, guard: { type: 'statusIs' as const, params: { status: s } } })),
});

/**
 * Every pod event updates the containers (`evolvePod`); the machine then moves to the status those
 * containers imply (`podStatusOf`), the way the kubelet derives a pod's phase from its container
 * statuses, so replaying the events always lands in the same state.
 */
export const podMachine = setup({
  types: {} as { context: PodContext; events: PodEvent },
  actions: {
    /** Start these containers' processes; the runtime reports each start (with its run id) or exit. */
    startContainers: (_, _params: StartContainersParams) => undefined,
    /** SIGTERM these runs, SIGKILL after the grace period; the runtime reports each exit. */
    stopContainers: (_, _params: StopContainersParams) => undefined,
    /** Arm a timer that sends `RestartContainer` at `restartAt`. */
    scheduleRestart: (_, _params: ScheduleRestartParams) => undefined,
    /** Kill processes that belong to no live container (cleanup after a host restart). */
    killProcesses: (_, _params: KillProcessesParams) => undefined,
    evolve: assign(({ context, event }) => evolvePod(context, event)),
  },
  guards: {
    statusIs: ({ context }, params: { status: PodStatus }) => podStatusOf(context) === params.status,
    terminating: ({ context }) => context.termination !== null,
    namesContainers: ({ context, event }) => event.type === 'ContainersStartRequested.v1' && event.data.containers.some((name) => containerNamed(context, name) !== undefined),
    restartDecided: ({ context, event }) => event.type === 'ContainerExited.v1' && event.data.backOffMs !== null && containerNamed(context, event.data.container) !== undefined,
    hasRunningContainers: ({ context }) => runningRunIds(context).length > 0,
  },
}).createMachine({
  id: 'pod',
  context: emptyPodContext,
  initial: 'absent',
  // Each event's effects are worked out on the state it happened in, then the event is applied.
  on: {
    'PodAdmitted.v1': { actions: 'evolve' },
    'PodAdmissionFailed.v1': { actions: 'evolve' },
    'ContainersStartRequested.v1': [
      { guard: 'namesContainers', actions: [{ type: 'startContainers', params: ({ context, event }) => startParams(context, event.data.containers) }, 'evolve'] },
      { actions: 'evolve' },
    ],
    'ContainerStarted.v1': [
      // A start that lands while terminating is stopped at once, within what is left of the grace period.
      { guard: 'terminating', actions: [{ type: 'stopContainers', params: ({ context, event }) => stopParams(context, [event.data.runId], event.data.at) }, 'evolve'] },
      { actions: 'evolve' },
    ],
    'ContainerExited.v1': [
      { guard: 'restartDecided', actions: [{ type: 'scheduleRestart', params: ({ context, event }) => restartParams(context, event.data) }, 'evolve'] },
      { actions: 'evolve' },
    ],
    'PodTerminationRequested.v1': [
      { guard: 'hasRunningContainers', actions: [{ type: 'stopContainers', params: ({ context, event }) => ({ pod: refOf(context), runIds: runningRunIds(context), gracePeriodSeconds: event.data.gracePeriodSeconds }) }, 'evolve'] },
      { actions: 'evolve' },
    ],
    'RuntimeObserved.v1': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          if (context.spec === null) return;
          const plan = planObservation(context, event.data.alive);
          if (plan.orphans.length > 0) enqueue({ type: 'killProcesses', params: { pod: refOf(context), runIds: plan.orphans.map((p) => p.runId) } });
          if (plan.stillStopping.length > 0) enqueue({ type: 'stopContainers', params: stopParams(context, plan.stillStopping.map((p) => p.runId), event.data.at) });
          // What is left of the back-off, never more than all of it (a wall clock set back meanwhile).
          for (const { container, restartAt, backOffMs } of plan.backingOff) {
            const delayMs = Math.min(backOffMs, Math.max(0, Date.parse(restartAt) - Date.parse(event.data.at)));
            enqueue({ type: 'scheduleRestart', params: { pod: refOf(context), container, delayMs, restartAt } });
          }
        }),
        'evolve',
      ],
    },
  },
  states: {
    absent: routed('absent'),
    pending: routed('pending'),
    containerCreating: routed('containerCreating'),
    running: routed('running'),
    restarting: routed('restarting'),
    crashLoopBackOff: routed('crashLoopBackOff'),
    succeeded: routed('succeeded'),
    failed: routed('failed'),
    terminating: routed('terminating'),
    deleted: routed('deleted'),
  },
});

function startParams(context: PodContext, names: readonly string[]): StartContainersParams {
  const specs = context.spec === null ? [] : [...context.spec.initContainers, ...context.spec.containers];
  return { pod: refOf(context), containers: specs.filter((c) => names.includes(c.name)) };
}

function stopParams(context: PodContext, runIds: readonly string[], at: string): StopContainersParams {
  return { pod: refOf(context), runIds, gracePeriodSeconds: context.termination === null ? 0 : graceLeftSeconds(context.termination, at) };
}

function restartParams(context: PodContext, data: { readonly container: string; readonly backOffMs: number | null; readonly at: string }): ScheduleRestartParams {
  const delayMs = data.backOffMs ?? 0;
  return { pod: refOf(context), container: data.container, delayMs, restartAt: new Date(Date.parse(data.at) + delayMs).toISOString() };
}

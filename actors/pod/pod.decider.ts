// The pod decider: which pod events a command produces in a given state, or why it is refused,
// by the kubelet's rules (restart policy, exponential back-off, init containers in order).
import type { SnapshotFrom } from 'xstate';
import { assertNever, err, invariant, ok, type Decision } from '../../kernel/index.js';
import { restartPolicies, type ContainerSpec, type PodEvent, type PodRef, type PodSpec, type RestartPolicy, type RunningProcess } from './pod.events.js';
import { containerNamed, evolvePod, isEmptyPlan, nextStartBatch, planObservation, type ContainerStatus, type PodContext, type podMachine } from './pod.machine.js';

/** The kubelet's restart back-off: 10 s, doubling, at most 5 min, reset after 10 min of running. */
export const backOffInitialMs = 10_000;
export const backOffMaxMs = 300_000;
export const backOffResetAfterRunningMs = 600_000;
/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const gracePeriodSecondsDefault = 30;
/** What a container whose process vanished while the host was down is recorded as (like SIGKILL). */
export const lostExit = { exitCode: 137, reason: 'ContainerLost', message: 'the container process was not found after the edge host restarted' } as const;
/** Why a pod with a container without `command` fails admission. */
export const noCommandReason = 'NoCommand';

/** A container as the Pod spec gives it: `command` is optional there, but required here. */
export type ContainerInput = { readonly name: string; readonly command?: readonly string[]; readonly args?: readonly string[]; readonly workingDir?: string };
export type PodSpecInput = PodRef & {
  readonly nodeName: string;
  readonly restartPolicy?: RestartPolicy;
  readonly terminationGracePeriodSeconds?: number;
  readonly initContainers?: readonly ContainerInput[];
  readonly containers: readonly ContainerInput[];
};

/**
 * What can be asked of a pod. Time (`at`, RFC 3339) and run ids come from the host and the
 * runtime, so deciding is pure. `RestartContainer` is the host's back-off timer firing;
 * `ObserveRuntime` is the scan of live processes after a host restart.
 */
export type PodCommand =
  | { readonly type: 'AdmitPod'; readonly data: { readonly spec: PodSpecInput; readonly at: string } }
  | { readonly type: 'StartPod'; readonly data: { readonly at: string } }
  | { readonly type: 'ReportContainerStarted'; readonly data: { readonly container: string; readonly runId: string; readonly at: string } }
  | {
      readonly type: 'ReportContainerExited';
      readonly data: { readonly container: string; readonly runId: string | null; readonly exitCode: number; readonly reason?: string; readonly message?: string; readonly at: string };
    }
  | { readonly type: 'RestartContainer'; readonly data: { readonly container: string; readonly at: string } }
  | { readonly type: 'RequestTermination'; readonly data: { readonly gracePeriodSeconds?: number; readonly at: string } }
  | { readonly type: 'ObserveRuntime'; readonly data: { readonly alive: readonly RunningProcess[]; readonly at: string } };

export type PodRejection =
  | { readonly kind: 'PodNotFound' }
  | { readonly kind: 'InvalidPodSpec'; readonly detail: string }
  | { readonly kind: 'SpecImmutable' }
  | { readonly kind: 'PodTerminating' }
  | { readonly kind: 'UnknownContainer'; readonly container: string }
  | { readonly kind: 'ContainerNotStarting'; readonly container: string; readonly state: string }
  | { readonly kind: 'BackOffNotElapsed'; readonly container: string; readonly restartAt: string }
  | { readonly kind: 'InvalidExitCode'; readonly exitCode: number }
  | { readonly kind: 'InvalidGracePeriod'; readonly gracePeriodSeconds: number }
  | { readonly kind: 'InvalidTime'; readonly at: string };

type PodData = {
  readonly spec: PodSpec;
  readonly admittedAt: string;
  readonly failure: { readonly reason: string; readonly message: string } | null;
  readonly startTime: string | null;
  readonly initContainers: readonly ContainerStatus[];
  readonly containers: readonly ContainerStatus[];
};
type Termination = { readonly requestedAt: string; readonly gracePeriodSeconds: number };

/** The pod as the decider sees it: a union on `status` (STYLE R4). */
export type PodState =
  | { readonly status: 'absent' }
  | ({ readonly status: 'pending' | 'containerCreating' | 'running' | 'restarting' | 'crashLoopBackOff' | 'succeeded' | 'failed'; readonly termination: null } & PodData)
  | ({ readonly status: 'terminating' | 'deleted'; readonly termination: Termination } & PodData);

export type PresentPodState = Exclude<PodState, { readonly status: 'absent' }>;

/** Projects the machine snapshot: its state value is the status, its context the data. */
export function podStateOf(snapshot: SnapshotFrom<typeof podMachine>): PodState {
  const status = snapshot.value;
  const c = snapshot.context;
  if (status === 'absent') return { status };
  invariant(c.spec !== null && c.admittedAt !== null, 'a present pod was admitted');
  const data: PodData = { spec: c.spec, admittedAt: c.admittedAt, failure: c.failure, startTime: c.startTime, initContainers: c.initContainers, containers: c.containers };
  switch (status) {
    case 'terminating':
    case 'deleted':
      invariant(c.termination !== null, 'a terminating pod was asked to terminate');
      return { status, termination: c.termination, ...data };
    case 'pending':
    case 'containerCreating':
    case 'running':
    case 'restarting':
    case 'crashLoopBackOff':
    case 'succeeded':
    case 'failed':
      invariant(c.termination === null, 'only a terminating pod has a termination');
      return { status, termination: null, ...data };
    default:
      return assertNever(status);
  }
}

type PodDecision = Decision<PodEvent, PodRejection>;
const podNotFound: PodDecision = err({ kind: 'PodNotFound' });

/** Decides a pod command. Pure: the same command in the same state always decides the same. */
export function decidePod(command: PodCommand, state: PodState): PodDecision {
  if (Number.isNaN(Date.parse(command.data.at))) return err({ kind: 'InvalidTime', at: command.data.at });
  if (command.type === 'AdmitPod') return admit(command.data.spec, command.data.at, state);
  if (state.status === 'absent') return podNotFound;
  switch (command.type) {
    case 'StartPod':
      return startPod(command.data.at, state);
    case 'ReportContainerStarted':
      return containerStarted(command.data, state);
    case 'ReportContainerExited':
      return containerExited(command.data, state);
    case 'RestartContainer':
      return restartContainer(command.data, state);
    case 'RequestTermination':
      return requestTermination(command.data, state);
    case 'ObserveRuntime':
      return observeRuntime(command.data, state);
    default:
      return assertNever(command);
  }
}

// DNS-1123 label and subdomain, as Kubernetes requires of namespaces, container and pod names.
const dns1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function admit(input: PodSpecInput, at: string, state: PodState): PodDecision {
  const spec = normalizedSpec(input);
  const problem = specProblem(spec);
  if (problem !== undefined) return err({ kind: 'InvalidPodSpec', detail: problem });
  // The cloud's down stream is level-based: the same pod may arrive again.
  if (state.status !== 'absent') return sameJson(state.spec, spec) ? ok([]) : err({ kind: 'SpecImmutable' });
  const commandless = [...spec.initContainers, ...spec.containers].filter((c) => c.command.length === 0).map((c) => c.name);
  if (commandless.length === 0) return ok([{ type: 'PodAdmitted.v1', data: { spec, at } }]);
  const message = `no command: the process runtime has no image entrypoints (set command on container ${commandless.join(', ')})`;
  return ok([{ type: 'PodAdmissionFailed.v1', data: { spec, reason: noCommandReason, message, at } }]);
}

function normalizedSpec(input: PodSpecInput): PodSpec {
  const container = (c: ContainerInput): ContainerSpec => ({ name: c.name, command: c.command ?? [], args: c.args ?? [], workingDir: c.workingDir ?? null });
  return {
    namespace: input.namespace,
    name: input.name,
    uid: input.uid,
    nodeName: input.nodeName,
    restartPolicy: input.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: input.terminationGracePeriodSeconds ?? gracePeriodSecondsDefault,
    initContainers: (input.initContainers ?? []).map(container),
    containers: input.containers.map(container),
  };
}

/** What the API server would have refused; undefined when the spec is valid. */
function specProblem(spec: PodSpec): string | undefined {
  if (!dns1123Label.test(spec.namespace)) return `namespace ${JSON.stringify(spec.namespace)} is not a DNS-1123 label`;
  if (spec.name.length > 253 || !dns1123Subdomain.test(spec.name)) return `name ${JSON.stringify(spec.name)} is not a DNS-1123 subdomain`;
  if (spec.uid === '' || spec.nodeName === '') return 'uid and nodeName are required';
  if (!restartPolicies.includes(spec.restartPolicy)) return `restartPolicy ${JSON.stringify(spec.restartPolicy)} is not Always, OnFailure or Never`;
  if (!isCount(spec.terminationGracePeriodSeconds)) return 'terminationGracePeriodSeconds must be a non-negative integer';
  if (spec.containers.length === 0) return 'a pod needs at least one container';
  const names = [...spec.initContainers, ...spec.containers].map((c) => c.name);
  const bad = names.find((n) => !dns1123Label.test(n));
  if (bad !== undefined) return `container name ${JSON.stringify(bad)} is not a DNS-1123 label`;
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? undefined : `container name ${JSON.stringify(twice)} is used twice`;
}

function startPod(at: string, state: PresentPodState): PodDecision {
  if (state.termination !== null) return err({ kind: 'PodTerminating' });
  // Started already, or failed admission: there is nothing (more) to start.
  if (state.status !== 'pending') return ok([]);
  return ok([{ type: 'ContainersStartRequested.v1', data: { containers: nextStartBatch(contextOf(state)), at } }]);
}

function containerStarted(data: { readonly container: string; readonly runId: string; readonly at: string }, state: PresentPodState): PodDecision {
  const c = containerNamed(contextOf(state), data.container);
  if (c === undefined) return err({ kind: 'UnknownContainer', container: data.container });
  if (c.state.state === 'running' && c.state.runId === data.runId) return ok([]);
  if (c.state.state !== 'waiting' || c.state.reason !== 'ContainerCreating') return err({ kind: 'ContainerNotStarting', container: c.name, state: c.state.state === 'waiting' ? c.state.reason : c.state.state });
  return ok([{ type: 'ContainerStarted.v1', data: { container: c.name, runId: data.runId, adopted: false, at: data.at } }]);
}

type ExitReport = Extract<PodCommand, { type: 'ReportContainerExited' }>['data'];

function containerExited(data: ExitReport, state: PresentPodState): PodDecision {
  const c = containerNamed(contextOf(state), data.container);
  if (c === undefined) return err({ kind: 'UnknownContainer', container: data.container });
  if (!isCount(data.exitCode) || data.exitCode > 255) return err({ kind: 'InvalidExitCode', exitCode: data.exitCode });
  const current = c.state.state === 'running' && c.state.runId === data.runId;
  // A process can die before its start is reported (or fail to start at all: StartError).
  const starting = c.state.state === 'waiting' && c.state.reason === 'ContainerCreating';
  // Anything else is a stale or repeated report of a run already closed.
  if (!current && !starting) return ok([]);
  const reason = data.reason ?? (data.exitCode === 0 ? 'Completed' : 'Error');
  return ok(exitEvents(state, c, { runId: data.runId, exitCode: data.exitCode, reason, message: data.message ?? '', at: data.at }));
}

type Exit = { readonly runId: string | null; readonly exitCode: number; readonly reason: string; readonly message: string; readonly at: string };

/** The container exited: record it with the decided restart delay, then start what comes next. */
function exitEvents(state: PresentPodState, c: ContainerStatus, exit: Exit): PodEvent[] {
  const restarts = state.termination === null && restartsAfter(state.spec.restartPolicy, c.init, exit.exitCode);
  const exited: PodEvent = { type: 'ContainerExited.v1', data: { container: c.name, ...exit, backOffMs: restarts ? nextBackOffMs(c, exit.at) : null } };
  if (!c.init || exit.exitCode !== 0 || state.termination !== null) return [exited];
  const next = nextStartBatch(evolvePod(contextOf(state), exited));
  return next.length === 0 ? [exited] : [exited, { type: 'ContainersStartRequested.v1', data: { containers: next, at: exit.at } }];
}

/** Kubernetes' restart policy; init containers are restarted only on failure, and never under Never. */
export function restartsAfter(policy: RestartPolicy, init: boolean, exitCode: number): boolean {
  if (policy === 'Never') return false;
  return init || policy === 'OnFailure' ? exitCode !== 0 : true;
}

/** 10 s, 20 s, 40 s … 300 s; back to 10 s after a run of 10 minutes or more. */
export function nextBackOffMs(c: ContainerStatus, exitAt: string): number {
  const ranMs = c.state.state === 'running' ? Date.parse(exitAt) - Date.parse(c.state.startedAt) : 0;
  if (c.backOffMs === 0 || ranMs >= backOffResetAfterRunningMs) return backOffInitialMs;
  return Math.min(c.backOffMs * 2, backOffMaxMs);
}

function restartContainer(data: { readonly container: string; readonly at: string }, state: PresentPodState): PodDecision {
  const c = containerNamed(contextOf(state), data.container);
  if (c === undefined) return err({ kind: 'UnknownContainer', container: data.container });
  // A timer that fires after termination began, or for a container no longer backing off, is stale.
  if (state.termination !== null || c.state.state !== 'waiting' || c.state.reason !== 'CrashLoopBackOff') return ok([]);
  // More than the whole back-off still ahead: the wall clock was set back since the exit, and
  // waiting for `restartAt` could take hours. The timer (on the monotonic clock) did wait it out.
  const aheadMs = Date.parse(c.state.restartAt) - Date.parse(data.at);
  if (aheadMs > 0 && aheadMs <= c.backOffMs) return err({ kind: 'BackOffNotElapsed', container: c.name, restartAt: c.state.restartAt });
  return ok([{ type: 'ContainersStartRequested.v1', data: { containers: [c.name], at: data.at } }]);
}

/** Termination may be asked again only to shorten the grace period, as with `kubectl delete --grace-period`. */
function requestTermination(data: { readonly gracePeriodSeconds?: number; readonly at: string }, state: PresentPodState): PodDecision {
  const gracePeriodSeconds = data.gracePeriodSeconds ?? state.spec.terminationGracePeriodSeconds;
  if (!isCount(gracePeriodSeconds)) return err({ kind: 'InvalidGracePeriod', gracePeriodSeconds });
  const event: PodEvent = { type: 'PodTerminationRequested.v1', data: { gracePeriodSeconds, at: data.at } };
  if (state.termination === null) return ok([event]);
  if (state.status === 'deleted') return ok([]);
  const leftSeconds = state.termination.gracePeriodSeconds - (Date.parse(data.at) - Date.parse(state.termination.requestedAt)) / 1000;
  return gracePeriodSeconds < leftSeconds ? ok([event]) : ok([]);
}

/**
 * After a host restart: adopt containers whose processes survived, record the vanished ones as
 * exited (restarting them per policy), ask again for starts that never happened, and let the
 * machine kill orphans. A scan that changes nothing records nothing.
 */
function observeRuntime(data: { readonly alive: readonly RunningProcess[]; readonly at: string }, state: PresentPodState): PodDecision {
  const context = contextOf(state);
  const plan = planObservation(context, data.alive);
  if (isEmptyPlan(plan)) return ok([]);
  const events: PodEvent[] = [{ type: 'RuntimeObserved.v1', data: { alive: data.alive, at: data.at } }];
  for (const p of plan.adopted) events.push({ type: 'ContainerStarted.v1', data: { container: p.container, runId: p.runId, adopted: true, at: data.at } });
  for (const name of plan.lost) {
    const c = containerNamed(context, name);
    invariant(c !== undefined, 'a lost container is one of the pod');
    const runId = c.state.state === 'running' ? c.state.runId : null;
    events.push(...exitEvents(state, c, { runId, ...lostExit, at: data.at }));
  }
  if (plan.unstarted.length > 0) events.push({ type: 'ContainersStartRequested.v1', data: { containers: plan.unstarted, at: data.at } });
  return ok(events);
}

const contextOf = (state: PresentPodState): PodContext => state;
const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** Structural equality of JSON data, ignoring key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

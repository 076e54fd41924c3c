// How kubectl describes a pod: its phase and the READY, STATUS and RESTARTS columns of
// `kubectl get pods`, computed from the pod's state the way kubectl's printer does.
import type { PresentPodState } from './pod.decider.js';
import { phaseOf, type ContainerStatus, type PodPhase } from './pod.machine.js';

/** The pod's Kubernetes phase (`status.phase`). */
export function podPhase(state: PresentPodState): PodPhase {
  return phaseOf(state);
}

export type KubectlPodColumns = {
  /** `READY`: running containers over app containers, e.g. `1/2` (no probes: running is ready). */
  readonly ready: string;
  /** `STATUS`: Pending, Init:0/2, Init:CrashLoopBackOff, ContainerCreating, Running, CrashLoopBackOff, Completed, Error, Terminating… */
  readonly status: string;
  /** `RESTARTS`: of the init containers while initializing, else of the app containers. */
  readonly restarts: number;
};

/**
 * The columns `kubectl get pods` would print for this pod (kubectl's `printPod`).
 * @example kubectlStatus(podKind.stateOf(snapshot)) // { ready: '0/1', status: 'CrashLoopBackOff', restarts: 3 }
 */
export function kubectlStatus(state: PresentPodState): KubectlPodColumns {
  const ready = `${state.containers.filter((c) => c.state.state === 'running').length}/${state.spec.containers.length}`;
  const initializing = initStatus(state);
  const status = state.termination !== null ? 'Terminating' : (initializing ?? appStatus(state));
  const restarts = sum((initializing === undefined ? state.containers : state.initContainers).map((c) => c.restartCount));
  return { ready, status, restarts };
}

/** `Init:…` while an init container has not succeeded; undefined once all have. */
function initStatus(state: PresentPodState): string | undefined {
  if (state.startTime === null) return undefined;
  for (const [i, c] of state.initContainers.entries()) {
    if (c.state.state === 'terminated' && c.state.exitCode === 0) continue;
    if (c.state.state === 'terminated') return `Init:${c.state.reason === '' ? `ExitCode:${c.state.exitCode}` : c.state.reason}`;
    if (c.state.state === 'waiting' && c.state.reason === 'CrashLoopBackOff') return 'Init:CrashLoopBackOff';
    return `Init:${i}/${state.initContainers.length}`;
  }
  return undefined;
}

/** kubectl walks the containers from last to first; the first one with a reason wins. */
function appStatus(state: PresentPodState): string {
  let status: string = state.failure?.reason ?? phaseOf(state);
  if (state.startTime === null) return status;
  let hasRunning = false;
  for (const c of [...state.containers].reverse()) {
    const reason = reasonOf(c);
    if (reason !== undefined) status = reason;
    else if (c.state.state === 'running') hasRunning = true;
  }
  return status === 'Completed' && hasRunning ? 'Running' : status;
}

function reasonOf(c: ContainerStatus): string | undefined {
  switch (c.state.state) {
    case 'waiting':
      return c.state.reason;
    case 'terminated':
      return c.state.reason === '' ? `ExitCode:${c.state.exitCode}` : c.state.reason;
    case 'running':
      return undefined;
  }
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

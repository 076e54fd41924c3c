// Pod events: the facts of a pod's life on an edge node (admission, container starts and exits,
// termination, runtime scans), and how recorded ones are read back and checked.
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { EventDecodeError } from '../host/actor-kind.js';

export const restartPolicies = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof restartPolicies)[number];

/** Which pod: a re-created pod has a new uid, hence a new stream. */
export type PodRef = { readonly namespace: string; readonly name: string; readonly uid: string };

/**
 * A container as the process runtime runs it. `command` is empty only in a pod that failed
 * admission (the runtime has no image entrypoints to fall back on). Environment and volumes are
 * resolved by the runtime adapter from the API objects, so no Secret value enters the journal.
 */
export type ContainerSpec = { readonly name: string; readonly command: readonly string[]; readonly args: readonly string[]; readonly workingDir: string | null };

export type PodSpec = PodRef & {
  readonly nodeName: string;
  readonly restartPolicy: RestartPolicy;
  readonly terminationGracePeriodSeconds: number;
  /** Run first, one at a time, in order; each must exit 0 before the next starts. */
  readonly initContainers: readonly ContainerSpec[];
  readonly containers: readonly ContainerSpec[];
};

/** A process the runtime found alive, and the run of which container it is. */
export type RunningProcess = { readonly container: string; readonly runId: string };

/** Everything that can happen to a pod. Times are RFC 3339 strings, as Kubernetes writes them. */
export type PodEvent =
  | { readonly type: 'PodAdmitted.v1'; readonly data: { readonly spec: PodSpec; readonly at: string } }
  | { readonly type: 'PodAdmissionFailed.v1'; readonly data: { readonly spec: PodSpec; readonly reason: string; readonly message: string; readonly at: string } }
  /** The host was asked to start these containers (first start, next init container, or a restart). */
  | { readonly type: 'ContainersStartRequested.v1'; readonly data: { readonly containers: readonly string[]; readonly at: string } }
  /** `adopted`: found alive by a runtime scan after the host restarted, rather than reported by a start. */
  | { readonly type: 'ContainerStarted.v1'; readonly data: { readonly container: string; readonly runId: string; readonly adopted: boolean; readonly at: string } }
  /** `backOffMs` is the decided restart delay, or null when the restart policy does not restart it. */
  | {
      readonly type: 'ContainerExited.v1';
      readonly data: {
        readonly container: string;
        readonly runId: string | null;
        readonly exitCode: number;
        readonly reason: string;
        readonly message: string;
        readonly backOffMs: number | null;
        readonly at: string;
      };
    }
  | { readonly type: 'PodTerminationRequested.v1'; readonly data: { readonly gracePeriodSeconds: number; readonly at: string } }
  /** A scan of the runtime after a host restart: the processes of this pod that are still alive. */
  | { readonly type: 'RuntimeObserved.v1'; readonly data: { readonly alive: readonly RunningProcess[]; readonly at: string } };

export type PodEventType = PodEvent['type'];

// A check returns why a value is malformed, or undefined when it is fine.
type Check = (value: unknown, path: string) => string | undefined;

const isString: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string`);
const isBoolean: Check = (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be a boolean`);
const isCount: Check = (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? undefined : `${p} must be a non-negative integer`);
const nullable =
  (check: Check): Check =>
  (v, p) =>
    v === null ? undefined : check(v, p);
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `${p} must be one of ${allowed.join(', ')}`;
const arrayOf =
  (item: Check): Check =>
  (v, p) =>
    Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)).find((e) => e !== undefined) : `${p} must be an array`;
const shape =
  (fields: Readonly<Record<string, Check>>): Check =>
  (v, p) =>
    isJsonObject(v) ? Object.entries(fields).map(([k, check]) => check(v[k], `${p}.${k}`)).find((e) => e !== undefined) : `${p} must be an object`;

const containerSpec = shape({ name: isString, command: arrayOf(isString), args: arrayOf(isString), workingDir: nullable(isString) });
const podSpec = shape({
  namespace: isString,
  name: isString,
  uid: isString,
  nodeName: isString,
  restartPolicy: oneOf(restartPolicies),
  terminationGracePeriodSeconds: isCount,
  initContainers: arrayOf(containerSpec),
  containers: arrayOf(containerSpec),
});

const dataChecks: Readonly<Record<PodEventType, Check>> = {
  'PodAdmitted.v1': shape({ spec: podSpec, at: isString }),
  'PodAdmissionFailed.v1': shape({ spec: podSpec, reason: isString, message: isString, at: isString }),
  'ContainersStartRequested.v1': shape({ containers: arrayOf(isString), at: isString }),
  'ContainerStarted.v1': shape({ container: isString, runId: isString, adopted: isBoolean, at: isString }),
  'ContainerExited.v1': shape({ container: isString, runId: nullable(isString), exitCode: isCount, reason: isString, message: isString, backOffMs: nullable(isCount), at: isString }),
  'PodTerminationRequested.v1': shape({ gracePeriodSeconds: isCount, at: isString }),
  'RuntimeObserved.v1': shape({ alive: arrayOf(shape({ container: isString, runId: isString })), at: isString }),
};

const isPodEventType = (type: string): type is PodEventType => Object.hasOwn(dataChecks, type);

/**
 * Reads a recorded pod event back. Every pod event is still at its first version, so there is
 * nothing to upcast yet; a `.v2` would add its upcaster here.
 */
export function decodePodEvent(type: string, data: JsonValue): Result<PodEvent, EventDecodeError> {
  if (!isPodEventType(type)) return err({ kind: 'UnknownEventType', type, detail: 'not a pod event' });
  const problem = dataChecks[type](data, 'data');
  if (problem !== undefined) return err({ kind: 'MalformedEventData', type, detail: problem });
  // The checks above are exactly the event's type, so this narrowing is sound.
  return ok({ type, data } as PodEvent);
}

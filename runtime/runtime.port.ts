// The container runtime port: what the edge agent asks of whatever runs its pods' containers.
import type { Readable, Writable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { PodRef } from '../actors/index.js';
import type { Result } from '../kernel/index.js';

/** Which run of which container of which pod; `runId` is chosen by the caller and unique in its pod. */
export type RunRef = { readonly podUid: string; readonly container: string; readonly runId: string };

/** One file of a ConfigMap or Secret volume: `key` is the file name, as the API object's data key. */
export type VolumeFile = { readonly key: string; readonly data: string | Uint8Array };

/** Where a volume's files come from; the caller has already read the ConfigMap or Secret. */
export type VolumeSource =
  | { readonly kind: 'emptyDir' }
  | { readonly kind: 'configMap'; readonly files: readonly VolumeFile[] }
  | { readonly kind: 'secret'; readonly files: readonly VolumeFile[] };

/**
 * A volume mounted into the container. Processes share the host's file system, so `mountPath` is
 * not bind-mounted: the volume lives in `<dataDir>/pods/<uid>/volumes/<name>/` and the container
 * gets its path in `EDGEHIVE_VOLUME_<NAME>` (see the room's door for the full mapping).
 */
export type VolumeMount = { readonly name: string; readonly mountPath: string; readonly source: VolumeSource };

/** An environment variable, already resolved by the caller (ConfigMap/Secret `valueFrom` included). */
export type EnvVar = { readonly name: string; readonly value: string };

/** Everything needed to start one run of a container. */
export type ContainerLaunch = {
  readonly pod: PodRef;
  readonly container: string;
  readonly runId: string;
  /** Required and non-empty: there is no image entrypoint to fall back on. */
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** In order; a later value may refer to an earlier one as `$(NAME)`, as in Kubernetes. */
  readonly env: readonly EnvVar[];
  /** Absolute and existing; null means the container's own directory under the pod's. */
  readonly workingDir: string | null;
  readonly volumes: readonly VolumeMount[];
  /** `resources.limits.memory` in bytes, or null for no limit. */
  readonly memoryBytesMax: number | null;
};

/** A run that has started: its process is alive and recorded, so a restarted agent can find it. */
export type StartedContainer = RunRef & { readonly pid: number; readonly startedAt: string };

/**
 * Why a run ended. `Killed`: the runtime had to SIGKILL it (grace period over, or an orphan);
 * `OOMKilled`: over its memory limit; `ContainerLost`: its process vanished while no agent
 * watched and left no exit code (e.g. the host rebooted).
 */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Killed' | 'ContainerLost';

/** A run ended. `exitCode` as Kubernetes reports it: a death by signal N is 128 + N. `at` is RFC 3339. */
export type ContainerExit = RunRef & {
  readonly exitCode: number;
  readonly reason: ExitReason;
  readonly message: string;
  readonly at: string;
};

/** A recorded run as a scan finds it: alive (and now watched), or ended with what is known of its end. */
export type ObservedProcess =
  | (RunRef & { readonly pod: PodRef; readonly alive: true; readonly pid: number })
  | (RunRef & { readonly pod: PodRef; readonly alive: false; readonly exit: ContainerExit });

/**
 * What went wrong, with a Kubernetes-style `reason` for container waiting states:
 * `CreateContainerConfigError` (the launch itself is invalid), `RunContainerError` (the process
 * could not be started: missing executable or working directory), and the rest for operations on
 * runs (`NotFound`, `NotRunning`, `StillRunning`, `LimitReached`, `RuntimeUnavailable`).
 */
export type RuntimeError = {
  readonly reason: 'CreateContainerConfigError' | 'RunContainerError' | 'NotFound' | 'NotRunning' | 'StillRunning' | 'LimitReached' | 'RuntimeUnavailable';
  readonly message: string;
};

/** `kubectl logs` options. `sinceSeconds` is coarse: see the room's door. */
export type LogOptions = {
  readonly previous: boolean;
  readonly tailLines: number | null;
  readonly follow: boolean;
  readonly sinceSeconds?: number;
};

/** A command running in a container's working directory and environment. No TTY: plain pipes. */
export type ExecSession = {
  /** Null unless asked for with `stdin: true`; end it to close the command's stdin. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the command ends; a death by signal N is 128 + N. */
  readonly exit: Promise<{ readonly exitCode: number }>;
  /** SIGKILLs the command's process group (the session ends, e.g. kubectl went away). */
  kill(): void;
};

export type ExecOptions = { readonly stdin: boolean; readonly tty?: false };

/** A probe's action, as in a Pod's `livenessProbe`/`readinessProbe`/`startupProbe`. */
export type ProbeAction =
  | { readonly type: 'exec'; readonly command: readonly string[] }
  | {
      readonly type: 'httpGet';
      readonly port: number;
      readonly path: string;
      readonly host?: string;
      readonly scheme?: 'HTTP' | 'HTTPS';
      readonly headers?: readonly { readonly name: string; readonly value: string }[];
    }
  | { readonly type: 'tcpSocket'; readonly port: number; readonly host?: string };

export type ProbeResult = { readonly result: 'Success' | 'Failure'; readonly message: string };

/**
 * The container runtime the edge agent drives (KubeEdge's Edged talks CRI; this is our CRI).
 *
 * @example
 * const exits = runtime.exits.subscribe((e) => pod.execute({ type: 'ReportContainerExited', data: e }));
 * const observed = await runtime.scan();            // after an agent restart, before any pod acts
 * const started = await runtime.start(launch);      // Result: StartedContainer or RuntimeError
 */
export interface ContainerRuntime {
  /**
   * Starts one run. When this resolves ok the run is recorded on disk (a restarted agent finds
   * it) and its main process has been exec'd, so a `stop` right after reaches it.
   */
  start(launch: ContainerLaunch): Promise<Result<StartedContainer, RuntimeError>>;
  /**
   * SIGTERM to the run's process group, SIGKILL after `gracePeriodSeconds` (0: at once); resolves
   * with the exit. Asking again may only shorten the deadline, as `kubectl delete --grace-period`.
   */
  stop(run: RunRef, gracePeriodSeconds: number): Promise<Result<ContainerExit, RuntimeError>>;
  /** Every run's exit, once, whether started here or adopted by `scan`. */
  readonly exits: Observable<ContainerExit>;
  /** Every recorded run: alive ones are verified by (pid, start time, boot id) and watched from now on. */
  scan(): Promise<readonly ObservedProcess[]>;
  /** SIGKILLs the process group of each verified-alive run `keep` refuses; resolves with their exits. */
  killOrphans(keep: (run: RunRef) => boolean): Promise<readonly ContainerExit[]>;
  /** The container's log: its latest run, or the one before with `previous`. */
  logs(podUid: string, container: string, options: LogOptions): Promise<Result<Readable, RuntimeError>>;
  /** Runs a command in a running container's working directory and environment. */
  exec(podUid: string, container: string, command: readonly string[], options: ExecOptions): Promise<Result<ExecSession, RuntimeError>>;
  /** One probe attempt against a container; a container that is not running fails it. */
  probe(podUid: string, container: string, action: ProbeAction, timeoutSeconds: number): Promise<ProbeResult>;
  /**
   * Writes a running pod's ConfigMap and Secret volumes again from their current data (Kubernetes
   * updates mounted ConfigMaps in place); unchanged files are left alone. A pod with no directory
   * yet (never started here) is a no-op.
   */
  refreshVolumes(podUid: string, volumes: readonly VolumeMount[]): Promise<Result<void, RuntimeError>>;
  /** Forgets a pod whose runs have all ended: records, logs, volumes. Refused while a run is alive. */
  removePod(podUid: string): Promise<Result<void, RuntimeError>>;
  /** Stops watching; running containers keep running, as when the agent shuts down. */
  close(): Promise<void>;
}

// The runtime's door: the container runtime port, its process adapter and the probe runner.
/**
 * What a container gets from the process runtime (edgehive has no container engine; KubeEdge's
 * Edged would use one):
 *
 * - **A process, not an image.** `command` is required; `args` follow it. `$(VAR)` in command,
 *   args and env values expands as in Kubernetes (`$$` is a literal `$`). The process runs as the
 *   agent's user, on the host network (`podIP = hostIP`), in its own session and process group,
 *   under a small `sh` shim that records its exit code (so an agent that restarted still learns
 *   it); when the main process ends, whatever it left in its group is SIGKILLed, as Kubernetes
 *   ends a container.
 * - **Environment**: only what the launch gives, plus `PATH` (containerd's default when unset) and
 *   one `EDGEHIVE_VOLUME_<NAME>` per mounted volume (NAME upper-cased, `-` as `_`).
 * - **Working directory**: `workingDir` if given (it must exist: no directory is created on the
 *   host), else `<dataDir>/pods/<uid>/containers/<container>/`, kept for the pod's life.
 * - **Volumes** cannot be bind-mounted without root, so `mountPath` is not honoured: ConfigMap,
 *   Secret (mode 0600) and emptyDir volumes live in `<dataDir>/pods/<uid>/volumes/<name>/<key>`,
 *   found through `EDGEHIVE_VOLUME_<NAME>`, e.g. `args: ["--config", "$(EDGEHIVE_VOLUME_CONFIG)/app.yaml"]`.
 *   ConfigMap/Secret files are rewritten at each start of a container that mounts them.
 * - **Logs**: stdout and stderr go straight to `<dataDir>/pods/<uid>/logs/<container>/<runId>.log`
 *   (the process keeps logging while the agent is down), rotated copytruncate-style past
 *   `logBytesMax`, keeping `logRotatedFilesMax` older files; the current and previous run are
 *   kept, as the kubelet does. Lines are stored as written, without timestamps: `sinceSeconds`
 *   only skips whole rotated files last written before the cutoff, and `--timestamps` cannot be
 *   served from these files.
 * - **Memory limits**: a cgroup v2 `memory.max` per run when a writable delegation exists, else
 *   RSS summed over the process group every `memoryPollIntervalMs`, SIGKILLed as `OOMKilled`
 *   (137) when over. RSS polling can miss a spike shorter than the interval.
 * - **Exec** runs in the working directory with the environment the main process started with;
 *   plain pipes, no TTY. Sessions end with the container.
 * - **After an agent restart** `scan` verifies each recorded run by (pid, start time, boot id),
 *   watches the live ones (their later exits come on `exits`, with their real exit codes, kept by
 *   the shim) and returns the exit of those that ended meanwhile; a pid now naming another
 *   process is reported not alive and is never signalled.
 * - **Not provided**: images, users and capabilities, filesystem or network isolation, CPU
 *   limits, TTYs, `attach`, per-line log timestamps.
 */
export {
  type ContainerRuntime,
  type ContainerLaunch,
  type ContainerExit,
  type EnvVar,
  type ExecOptions,
  type ExecSession,
  type ExitReason,
  type LogOptions,
  type ObservedProcess,
  type ProbeAction,
  type ProbeResult,
  type RunRef,
  type RuntimeError,
  type StartedContainer,
  type VolumeFile,
  type VolumeMount,
  type VolumeSource,
} from './runtime.port.js';
export { openProcessRuntime, ProcessRuntime } from './process.runtime.js';
export { processRuntimeLimitsDefault, type ProcessRuntimeLimits, type ProcessRuntimeOptions } from './process.limits.js';
export { type MemoryEnforcement } from './memory.limits.js';
export { volumeEnvName } from './launch.plan.js';
export { ProbeRunner, probeScheduleDefaults, systemProbeTimer, type ProbeRunnerOptions, type ProbeSchedule, type ProbeTimer } from './probe.runner.js';

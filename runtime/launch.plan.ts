// Turns a ContainerLaunch into what will be spawned (argv, environment), checking it first:
// pure, so every refusal is a CreateContainerConfigError value decided without touching the host.
import { err, ok, type Result } from '../kernel/index.js';
import type { ContainerLaunch, RuntimeError, VolumeMount } from './runtime.port.js';

/** Pod uids, run ids and container names become path segments, so they are kept to safe characters. */
const safeId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
/** A ConfigMap/Secret data key, as Kubernetes allows it (no `/`: the file lands in the volume directory). */
const volumeKey = /^[-._a-zA-Z0-9]{1,253}$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The PATH a container gets when its env sets none (containerd's default for images without one). */
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Bounds on one launch (STYLE R13): what a ConfigMap/Secret can hold in Kubernetes, and argv/env sizes. */
export const volumeBytesMax = 1024 * 1024;
export const volumeFilesMax = 1024;
export const envVarsMax = 1024;
export const argvItemsMax = 4096;

/** What to spawn, once the launch has been checked and `$(VAR)` references expanded. */
export type LaunchPlan = {
  /** command + args after expansion; argv[0] is resolved against PATH by the adapter. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
};

/** The env var through which a container finds a mounted volume: `EDGEHIVE_VOLUME_` + NAME in upper case, `-` as `_`. */
export const volumeEnvName = (volume: string): string => `EDGEHIVE_VOLUME_${volume.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

const configError = (message: string): Result<never, RuntimeError> => err({ reason: 'CreateContainerConfigError', message });

/** Checks a launch; undefined when it is well-formed. */
export function launchProblem(launch: ContainerLaunch): string | undefined {
  const { pod, container, runId } = launch;
  if (!safeId.test(pod.uid)) return `pod uid ${JSON.stringify(pod.uid)} must be 1-100 letters, digits, '.', '_' or '-'`;
  if (!safeId.test(runId)) return `run id ${JSON.stringify(runId)} must be 1-100 letters, digits, '.', '_' or '-'`;
  if (!dns1123Label.test(container)) return `container name ${JSON.stringify(container)} is not a DNS-1123 label`;
  if (launch.command.length === 0) return `no command: the process runtime has no image entrypoints (set command on container ${container})`;
  if (launch.command.length + launch.args.length > argvItemsMax) return `command and args exceed ${argvItemsMax} items`;
  if ([...launch.command, ...launch.args].some((a) => a.includes('\0'))) return 'command and args must not contain NUL';
  if (launch.command[0] === '') return 'command[0] must not be empty';
  if (launch.env.length > envVarsMax) return `more than ${envVarsMax} env vars`;
  const badEnv = launch.env.find((e) => e.name === '' || e.name.includes('=') || e.name.includes('\0') || e.value.includes('\0'));
  if (badEnv !== undefined) return `env var ${JSON.stringify(badEnv.name)} is invalid (a name must be non-empty without '='; no NUL anywhere)`;
  if (launch.workingDir !== null && !launch.workingDir.startsWith('/')) return `workingDir ${JSON.stringify(launch.workingDir)} must be absolute`;
  const m = launch.memoryBytesMax;
  if (m !== null && (!Number.isSafeInteger(m) || m <= 0)) return `memory limit ${m} must be a positive number of bytes`;
  return volumesProblem(launch.volumes);
}

function volumesProblem(volumes: readonly VolumeMount[]): string | undefined {
  const names = volumes.map((v) => v.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return `volume ${JSON.stringify(twice)} is mounted twice`;
  for (const volume of volumes) {
    if (!dns1123Label.test(volume.name)) return `volume name ${JSON.stringify(volume.name)} is not a DNS-1123 label`;
    if (volume.source.kind === 'emptyDir') continue;
    const files = volume.source.files;
    if (files.length > volumeFilesMax) return `volume ${volume.name} has more than ${volumeFilesMax} files`;
    const bad = files.find((f) => !volumeKey.test(f.key) || f.key === '.' || f.key === '..');
    if (bad !== undefined) return `volume ${volume.name}: key ${JSON.stringify(bad.key)} is not a valid file name`;
    const keys = files.map((f) => f.key);
    if (keys.some((k, i) => keys.indexOf(k) !== i)) return `volume ${volume.name} has a key twice`;
    const bytes = files.reduce((sum, f) => sum + (typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.byteLength), 0);
    if (bytes > volumeBytesMax) return `volume ${volume.name} holds ${bytes} bytes, more than ${volumeBytesMax}`;
  }
  return undefined;
}

/**
 * Plans a checked launch: the environment is PATH (defaulted), then one `EDGEHIVE_VOLUME_<NAME>`
 * per volume, then the launch's env in order; `$(VAR)` in env values, command and args expands
 * as Kubernetes does it (`$$` escapes, unknown names stay as written).
 */
export function planLaunch(launch: ContainerLaunch, volumeDirs: ReadonlyMap<string, string>): Result<LaunchPlan, RuntimeError> {
  const problem = launchProblem(launch);
  if (problem !== undefined) return configError(problem);
  const env: Record<string, string> = { PATH: defaultPath };
  for (const volume of launch.volumes) {
    const dir = volumeDirs.get(volume.name);
    if (dir !== undefined) env[volumeEnvName(volume.name)] = dir;
  }
  for (const { name, value } of launch.env) env[name] = expandReferences(value, env);
  const argv = [...launch.command, ...launch.args].map((a) => expandReferences(a, env));
  return ok({ argv, env });
}

/** Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion). */
export function expandReferences(input: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    const next = input[i + 1];
    if (c !== '$' || next === undefined) {
      out += c;
      i += 1;
    } else if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(vars, name) ? vars[name] : `$(${name})`;
      i = close + 1;
    } else {
      out += c + next;
      i += 2;
    }
  }
  return out;
}

// A container's probes as the runtime runs them: Kubernetes Probe objects (exec, httpGet,
// tcpSocket, with their timing fields) read into actions and schedules. Pure; a malformed probe is
// left out with its reason rather than failing the pod (the API server validated it already).
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { probeScheduleDefaults, type ProbeAction, type ProbeSchedule } from '../../runtime/index.js';
import { objectAt } from '../kube/json-fields.js';

export interface ContainerProbe {
  readonly action: ProbeAction;
  readonly schedule: ProbeSchedule;
}

export interface ContainerProbes {
  readonly startup?: ContainerProbe;
  readonly liveness?: ContainerProbe;
  readonly readiness?: ContainerProbe;
}

type Raw = Record<string, unknown>;
const num = (value: Raw, key: string, fallback: number, min: number): number => {
  const n = value[key];
  return typeof n === 'number' && Number.isInteger(n) && n >= min ? n : fallback;
};

/** A port given as a number, or as the name of one of the container's ports. */
function portOf(value: unknown, container: Raw): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536) return value;
  if (typeof value !== 'string') return undefined;
  const ports = Array.isArray(container['ports']) ? container['ports'] : [];
  const named = ports.find((p) => isJsonObject(p) && p['name'] === value);
  return isJsonObject(named) && typeof named['containerPort'] === 'number' ? named['containerPort'] : /^\d+$/.test(value) ? Number(value) : undefined;
}

function actionOf(probe: Raw, container: Raw): ProbeAction | undefined {
  const exec = objectAt(probe, 'exec');
  if (exec !== undefined) {
    const command = Array.isArray(exec['command']) ? exec['command'].filter((c): c is string => typeof c === 'string') : [];
    return command.length > 0 ? { type: 'exec', command } : undefined;
  }
  const http = objectAt(probe, 'httpGet');
  if (http !== undefined) {
    const port = portOf(http['port'], container);
    if (port === undefined) return undefined;
    const headers = (Array.isArray(http['httpHeaders']) ? http['httpHeaders'] : []).flatMap((h) => (isJsonObject(h) && typeof h['name'] === 'string' && typeof h['value'] === 'string' ? [{ name: h['name'], value: h['value'] }] : []));
    return {
      type: 'httpGet',
      port,
      path: typeof http['path'] === 'string' ? http['path'] : '/',
      ...(typeof http['host'] === 'string' ? { host: http['host'] } : {}),
      scheme: http['scheme'] === 'HTTPS' ? 'HTTPS' : 'HTTP',
      headers,
    };
  }
  const tcp = objectAt(probe, 'tcpSocket');
  if (tcp !== undefined) {
    const port = portOf(tcp['port'], container);
    return port === undefined ? undefined : { type: 'tcpSocket', port, ...(typeof tcp['host'] === 'string' ? { host: tcp['host'] } : {}) };
  }
  return undefined;
}

function probeOf(probe: Raw | undefined, container: Raw, kind: 'startup' | 'liveness' | 'readiness'): ContainerProbe | undefined {
  if (probe === undefined) return undefined;
  const action = actionOf(probe, container);
  if (action === undefined) return undefined;
  const d = probeScheduleDefaults;
  return {
    action,
    schedule: {
      initialDelaySeconds: num(probe, 'initialDelaySeconds', d.initialDelaySeconds, 0),
      periodSeconds: num(probe, 'periodSeconds', d.periodSeconds, 1),
      timeoutSeconds: num(probe, 'timeoutSeconds', d.timeoutSeconds, 1),
      failureThreshold: num(probe, 'failureThreshold', d.failureThreshold, 1),
      // Liveness and startup probes must succeed once (Kubernetes forces successThreshold 1 for them).
      successThreshold: kind === 'readiness' ? num(probe, 'successThreshold', d.successThreshold, 1) : 1,
    },
  };
}

/** The probes of container `name` in `pod` (init containers have none). */
export function containerProbesOf(pod: JsonObject, name: string): ContainerProbes {
  const spec = objectAt(pod, 'spec');
  const containers = spec !== undefined && Array.isArray(spec['containers']) ? spec['containers'] : [];
  const container = containers.find((c) => isJsonObject(c) && c['name'] === name);
  if (!isJsonObject(container)) return {};
  const startup = probeOf(objectAt(container, 'startupProbe'), container, 'startup');
  const liveness = probeOf(objectAt(container, 'livenessProbe'), container, 'liveness');
  const readiness = probeOf(objectAt(container, 'readinessProbe'), container, 'readiness');
  return { ...(startup === undefined ? {} : { startup }), ...(liveness === undefined ? {} : { liveness }), ...(readiness === undefined ? {} : { readiness }) };
}

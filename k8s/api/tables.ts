// Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns kubectl
// prints for each kind, computed on the server the way kube-apiserver's printers do.
import type { JsonObject, JsonValue } from '../../kernel/index.js';

export interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  readonly format?: string;
  readonly description: string;
  /** 1: shown only with `-o wide`. */
  readonly priority: 0 | 1;
  readonly cell: (object: JsonObject, nowMs: number) => JsonValue;
}

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const o = (object: JsonObject): Any => object as Any;
const none = (value: unknown): string => (value === undefined || value === null || value === '' ? '<none>' : String(value));

/** kubectl's `HumanDuration`, as in apimachinery's duration.go. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

const age = (at: unknown, nowMs: number): string => (typeof at === 'string' ? humanDuration(nowMs - Date.parse(at)) : '<unknown>');

const nameColumn: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (x) => o(x).metadata?.name ?? '' };
const ageColumn: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0, cell: (x, now) => age(o(x).metadata?.creationTimestamp, now) };
const col = (name: string, cell: Column['cell'], priority: 0 | 1 = 0, type: Column['type'] = 'string'): Column => ({ name, type, description: name, priority, cell });

/** The pod's STATUS column: kubectl's printPod reason logic. */
export function podStatusReason(pod: Any): string {
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  const init = (pod.status?.initContainerStatuses ?? []) as Any[];
  let initializing = false;
  for (const [i, c] of init.entries()) {
    if (c.state?.terminated?.exitCode === 0) continue;
    initializing = true;
    if (c.state?.terminated) reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length}`;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...((pod.status?.containerStatuses ?? []) as Any[])].reverse()) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (pod.metadata?.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

const podColumns: Column[] = [
  nameColumn,
  col('Ready', (x) => {
    const statuses = (o(x).status?.containerStatuses ?? []) as Any[];
    return `${statuses.filter((c) => c.ready).length}/${(o(x).spec?.containers ?? []).length}`;
  }),
  col('Status', (x) => podStatusReason(o(x))),
  col('Restarts', (x) => ((o(x).status?.containerStatuses ?? []) as Any[]).reduce((n, c) => n + (c.restartCount ?? 0), 0), 0, 'string'),
  ageColumn,
  col('IP', (x) => none(o(x).status?.podIP), 1),
  col('Node', (x) => none(o(x).spec?.nodeName), 1),
  col('Nominated Node', (x) => none(o(x).status?.nominatedNodeName), 1),
  col('Readiness Gates', (x) => none(((o(x).spec?.readinessGates ?? []) as Any[]).map((g) => g.conditionType).join(',')), 1),
];

const nodeColumns: Column[] = [
  nameColumn,
  col('Status', (x) => {
    const ready = ((o(x).status?.conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
    // As kube-apiserver prints it: a Ready condition that is not True (False or Unknown) is NotReady.
    const status = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
    return o(x).spec?.unschedulable ? `${status},SchedulingDisabled` : status;
  }),
  col('Roles', (x) => {
    const roles = Object.keys(o(x).metadata?.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).filter((r) => r !== '');
    return roles.length === 0 ? '<none>' : roles.sort().join(',');
  }),
  ageColumn,
  col('Version', (x) => o(x).status?.nodeInfo?.kubeletVersion ?? ''),
  col('Internal-IP', (x) => none(((o(x).status?.addresses ?? []) as Any[]).find((a) => a.type === 'InternalIP')?.address), 1),
  col('External-IP', (x) => none(((o(x).status?.addresses ?? []) as Any[]).find((a) => a.type === 'ExternalIP')?.address), 1),
  col('OS-Image', (x) => o(x).status?.nodeInfo?.osImage ?? '<unknown>', 1),
  col('Kernel-Version', (x) => o(x).status?.nodeInfo?.kernelVersion ?? '<unknown>', 1),
  col('Container-Runtime', (x) => o(x).status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>', 1),
];

const images = (x: JsonObject): string => ((o(x).spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(',');
const containerNames = (x: JsonObject): string => ((o(x).spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(',');
const selectorText = (x: JsonObject): string => {
  const sel = o(x).spec?.selector ?? {};
  const parts = Object.entries((sel.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of (sel.matchExpressions ?? []) as Any[]) parts.push(e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return none(parts.join(','));
};

const columnsByKind: Readonly<Record<string, readonly Column[]>> = {
  Pod: podColumns,
  Node: nodeColumns,
  Namespace: [nameColumn, col('Status', (x) => o(x).status?.phase ?? ''), ageColumn],
  ConfigMap: [nameColumn, col('Data', (x) => Object.keys(o(x).data ?? {}).length + Object.keys(o(x).binaryData ?? {}).length, 0, 'integer'), ageColumn],
  Secret: [nameColumn, col('Type', (x) => o(x).type ?? 'Opaque'), col('Data', (x) => Object.keys(o(x).data ?? {}).length, 0, 'integer'), ageColumn],
  ServiceAccount: [nameColumn, ageColumn],
  Service: [
    nameColumn,
    col('Type', (x) => o(x).spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', (x) => none(o(x).spec?.clusterIP)),
    col('External-IP', (x) => none(((o(x).spec?.externalIPs ?? []) as string[]).join(','))),
    col('Port(s)', (x) => none(((o(x).spec?.ports ?? []) as Any[]).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(','))),
    ageColumn,
    col('Selector', (x) => none(Object.entries((o(x).spec?.selector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')), 1),
  ],
  Endpoints: [
    nameColumn,
    col('Endpoints', (x) => {
      const eps = ((o(x).subsets ?? []) as Any[]).flatMap((s) => ((s.addresses ?? []) as Any[]).flatMap((a) => ((s.ports ?? [{}]) as Any[]).map((p) => (p.port ? `${a.ip}:${p.port}` : a.ip))));
      return none(eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : ''));
    }),
    ageColumn,
  ],
  Event: [
    col('Last Seen', (x, now) => age(o(x).lastTimestamp ?? o(x).eventTime ?? o(x).metadata?.creationTimestamp, now)),
    col('Type', (x) => o(x).type ?? ''),
    col('Reason', (x) => o(x).reason ?? ''),
    col('Object', (x) => `${String(o(x).involvedObject?.kind ?? '').toLowerCase()}/${o(x).involvedObject?.name ?? ''}`),
    col('Message', (x) => String(o(x).message ?? '').trim()),
    col('Source', (x) => o(x).source?.component ?? o(x).reportingComponent ?? '', 1),
    col('First Seen', (x, now) => age(o(x).firstTimestamp ?? o(x).metadata?.creationTimestamp, now), 1),
    col('Count', (x) => o(x).count ?? 1, 1, 'integer'),
    nameColumn,
  ],
  Lease: [nameColumn, col('Holder', (x) => o(x).spec?.holderIdentity ?? ''), ageColumn],
  Deployment: [
    nameColumn,
    col('Ready', (x) => `${o(x).status?.readyReplicas ?? 0}/${o(x).spec?.replicas ?? 1}`),
    col('Up-to-date', (x) => o(x).status?.updatedReplicas ?? 0, 0, 'integer'),
    col('Available', (x) => o(x).status?.availableReplicas ?? 0, 0, 'integer'),
    ageColumn,
    col('Containers', containerNames, 1),
    col('Images', images, 1),
    col('Selector', selectorText, 1),
  ],
  ReplicaSet: [
    nameColumn,
    col('Desired', (x) => o(x).spec?.replicas ?? 1, 0, 'integer'),
    col('Current', (x) => o(x).status?.replicas ?? 0, 0, 'integer'),
    col('Ready', (x) => o(x).status?.readyReplicas ?? 0, 0, 'integer'),
    ageColumn,
    col('Containers', containerNames, 1),
    col('Images', images, 1),
    col('Selector', selectorText, 1),
  ],
  DaemonSet: [
    nameColumn,
    col('Desired', (x) => o(x).status?.desiredNumberScheduled ?? 0, 0, 'integer'),
    col('Current', (x) => o(x).status?.currentNumberScheduled ?? 0, 0, 'integer'),
    col('Ready', (x) => o(x).status?.numberReady ?? 0, 0, 'integer'),
    col('Up-to-date', (x) => o(x).status?.updatedNumberScheduled ?? 0, 0, 'integer'),
    col('Available', (x) => o(x).status?.numberAvailable ?? 0, 0, 'integer'),
    col('Node Selector', (x) => none(Object.entries((o(x).spec?.template?.spec?.nodeSelector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(','))),
    ageColumn,
    col('Containers', containerNames, 1),
    col('Images', images, 1),
    col('Selector', selectorText, 1),
  ],
  CustomResourceDefinition: [nameColumn, col('Created At', (x) => o(x).metadata?.creationTimestamp ?? '', 0, 'date')],
};

/** A CRD's `additionalPrinterColumns` entry. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

/** Evaluates the simple JSONPath subset CRDs use (`.spec.nodeName`, `.status.twins[0].x`). */
function jsonPathValue(object: JsonObject, jsonPath: string): JsonValue | undefined {
  let at: JsonValue | undefined = object;
  for (const part of jsonPath.replace(/^\./, '').split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '')) {
    if (at === null || at === undefined || typeof at !== 'object') return undefined;
    at = Array.isArray(at) ? (at as JsonValue[])[Number(part)] : (at as Record<string, JsonValue>)[part];
  }
  return at;
}

export function crdColumns(printerColumns: readonly PrinterColumn[]): readonly Column[] {
  const custom = printerColumns.map((p): Column => ({
    name: p.name,
    type: p.type === 'integer' || p.type === 'number' || p.type === 'boolean' || p.type === 'date' ? p.type : 'string',
    description: p.description ?? p.name,
    priority: p.priority === 1 ? 1 : 0,
    cell: (x, now) => {
      const v = jsonPathValue(x, p.jsonPath);
      if (p.type === 'date' && typeof v === 'string') return age(v, now);
      return v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
    },
  }));
  return custom.some((c) => c.name === 'Age') ? [nameColumn, ...custom] : [nameColumn, ...custom, ageColumn];
}

export function columnsFor(kind: string): readonly Column[] {
  return columnsByKind[kind] ?? [nameColumn, ageColumn];
}

/** The Table for `objects`; each row carries PartialObjectMetadata so kubectl can fill NAMESPACE for -A. */
export function toTable(columns: readonly Column[], objects: readonly JsonObject[], listMeta: JsonObject, nowMs: number): JsonObject {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority })),
    rows: objects.map((object) => ({
      cells: columns.map((c) => c.cell(object, nowMs)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: (object['metadata'] ?? {}) as JsonObject },
    })),
  };
}

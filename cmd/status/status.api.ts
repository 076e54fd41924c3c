// `edgehive status`, the API side: one list of each resource it needs, through @kubernetes/client-node
// (projections' reflector, stopped after its first list), decoded into the facts the report uses.
// Unreachable is an answer, never a crash: the first failed request of the Node list says why.
import { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { err, isJsonObject, ok, type JsonObject, type Result } from '../../kernel/index.js';
import { ClusterView, EDGE_ROLE_LABEL, nodeStreamLease, NODE_STREAM_LEASE_NAMESPACE, reflect, VIEWED_PATHS, type ViewedKind } from '../../projections/index.js';
import type { ApiDeviceFacts, ApiFacts, ApiTwinProperty, NodeReadyFacts, NodeSyncFacts, StreamLeaseFacts } from './status.report.js';

/** How long one list may take before the API counts as unreachable. */
export const API_LIST_TIMEOUT_MS = 8_000;

const NODE_SYNCS_PATH = '/apis/edgehive.io/v1alpha1/nodesyncs';
const STREAM_LEASES_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NODE_STREAM_LEASE_NAMESPACE}/leases`;

/** One list of `path` as raw JSON (every field as the server wrote it, which content hashes need), or why not. */
export function listOnce(kc: KubeConfig, path: string, timeoutMs: number = API_LIST_TIMEOUT_MS): Promise<Result<readonly JsonObject[], string>> {
  return new Promise((resolve) => {
    let subscription: Subscription | undefined;
    let settled = false;
    const finish = (result: Result<readonly JsonObject[], string>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      subscription?.unsubscribe();
      resolve(result);
    };
    const timer = setTimeout(() => finish(err(`${path}: no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    // The reflector retries on its own; here the first failure is the answer.
    subscription = reflect(kc, path, { onError: (error) => finish(err(error)) }).subscribe((event) => {
      if (event.type === 'listed') finish(ok(event.objects));
    });
    if (settled) subscription.unsubscribe();
  });
}

const objectAt = (value: unknown, key: string): Record<string, unknown> => {
  const found = isJsonObject(value) ? value[key] : undefined;
  return isJsonObject(found) ? found : {};
};
const stringAt = (value: unknown, key: string): string | undefined => {
  const found = isJsonObject(value) ? value[key] : undefined;
  return typeof found === 'string' ? found : undefined;
};
const arrayAt = (value: unknown, key: string): readonly unknown[] => {
  const found = isJsonObject(value) ? value[key] : undefined;
  return Array.isArray(found) ? found : [];
};
const nameOf = (object: unknown): string => stringAt(objectAt(object, 'metadata'), 'name') ?? '';

/** A Node's Ready condition. */
export function readyOf(node: JsonObject): NodeReadyFacts {
  const ready = arrayAt(objectAt(node, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'Ready');
  return { status: stringAt(ready, 'status'), lastTransitionTime: stringAt(ready, 'lastTransitionTime') };
}

/** A NodeSync's spec (transport/stream/node-sync-store.kube.ts): acked entries are [key, resourceVersion, contentHash], '' for none. */
export function nodeSyncOf(object: JsonObject): NodeSyncFacts {
  const spec = objectAt(object, 'spec');
  const acked = new Map<string, string | null>();
  for (const [uid, entry] of Object.entries(objectAt(spec, 'acked'))) {
    const hash = Array.isArray(entry) && typeof entry[2] === 'string' ? entry[2] : '';
    acked.set(uid, hash === '' ? null : hash);
  }
  const journalId = stringAt(spec, 'journalId');
  const upApplied = spec['upApplied'];
  return { journalId: journalId === '' ? undefined : journalId, upApplied: typeof upApplied === 'number' ? upApplied : 0, acked };
}

/** A Lease's holder, renewTime and duration. */
export function leaseOf(object: JsonObject): StreamLeaseFacts {
  const spec = objectAt(object, 'spec');
  const duration = spec['leaseDurationSeconds'];
  return { holder: stringAt(spec, 'holderIdentity') ?? '', renewTime: stringAt(spec, 'renewTime'), durationSeconds: typeof duration === 'number' ? duration : undefined };
}

/** A Device's properties: spec desired values beside status reported ones. */
export function deviceOf(object: JsonObject): ApiDeviceFacts {
  const metadata = objectAt(object, 'metadata');
  const spec = objectAt(object, 'spec');
  const status = objectAt(object, 'status');
  const properties = new Map<string, ApiTwinProperty>();
  for (const p of arrayAt(spec, 'properties')) {
    const name = stringAt(p, 'name');
    if (name !== undefined) properties.set(name, { name, desired: stringAt(objectAt(p, 'desired'), 'value') ?? null, reported: null });
  }
  for (const twin of arrayAt(status, 'twins')) {
    const name = stringAt(twin, 'propertyName');
    if (name !== undefined) properties.set(name, { name, desired: properties.get(name)?.desired ?? null, reported: stringAt(objectAt(twin, 'reported'), 'value') ?? null });
  }
  return {
    namespace: stringAt(metadata, 'namespace') ?? '',
    name: stringAt(metadata, 'name') ?? '',
    uid: stringAt(metadata, 'uid') ?? '',
    nodeName: stringAt(spec, 'nodeName'),
    state: stringAt(status, 'state'),
    properties: [...properties.values()],
  };
}

/** Each node's desired set as uid → content hash, from the same read model the cloud computes it with. */
function desiredSets(listed: ReadonlyMap<ViewedKind, readonly JsonObject[]>, nodeNames: Iterable<string>): Map<string, Map<string, string>> {
  const view = new ClusterView();
  for (const [kind, objects] of listed) view.apply(kind, { type: 'listed', objects, resourceVersion: '' });
  const sets = new Map<string, Map<string, string>>();
  for (const name of nodeNames) sets.set(name, new Map([...view.desiredSet(name).objects].map(([uid, object]) => [uid, object.contentHash])));
  return sets;
}

/** Loads the kubeconfig, or says why it cannot. */
export function loadKubeConfig(path: string): Result<KubeConfig, string> {
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return kc.getCurrentCluster() === null ? err(`${path} names no current cluster`) : ok(kc);
  } catch (error) {
    return err(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Everything the report needs from the API; `localNodes` are the edges found in the data dir. */
export async function readApi(kc: KubeConfig, localNodes: readonly string[]): Promise<ApiFacts> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const nodeList = await listOnce(kc, VIEWED_PATHS.node);
  if (!nodeList.ok) return { reachable: false, server, error: nodeList.error };
  const kinds = (Object.keys(VIEWED_PATHS) as ViewedKind[]).filter((kind) => kind !== 'node');
  const [syncList, leaseList, ...viewLists] = await Promise.all([listOnce(kc, NODE_SYNCS_PATH), listOnce(kc, STREAM_LEASES_PATH), ...kinds.map((kind) => listOnce(kc, VIEWED_PATHS[kind]))]);
  const problems: string[] = [];
  const listed = new Map<ViewedKind, readonly JsonObject[]>([['node', nodeList.value]]);
  kinds.forEach((kind, i) => {
    const list = viewLists[i];
    if (list?.ok === true) listed.set(kind, list.value);
    else problems.push(list?.error ?? `${VIEWED_PATHS[kind]}: not listed`);
  });
  if (syncList === undefined || !syncList.ok) problems.push(syncList?.error ?? 'NodeSyncs not listed');
  if (leaseList === undefined || !leaseList.ok) problems.push(leaseList?.error ?? 'Leases not listed');
  const nodeSyncs = new Map((syncList?.ok === true ? syncList.value : []).map((o) => [nameOf(o), nodeSyncOf(o)]));
  const nodes = new Map(nodeList.value.filter((o) => objectAt(objectAt(o, 'metadata'), 'labels')[EDGE_ROLE_LABEL] !== undefined || nodeSyncs.has(nameOf(o)) || localNodes.includes(nameOf(o))).map((o) => [nameOf(o), readyOf(o)]));
  const names = new Set([...nodes.keys(), ...nodeSyncs.keys(), ...localNodes]);
  const leasesByName = new Map((leaseList?.ok === true ? leaseList.value : []).map((o) => [nameOf(o), leaseOf(o)]));
  const leases = new Map([...names].flatMap((name) => {
    const lease = leasesByName.get(nodeStreamLease(name).name);
    return lease === undefined ? [] : [[name, lease] as const];
  }));
  const complete = listed.size === Object.keys(VIEWED_PATHS).length && syncList?.ok === true;
  return {
    reachable: true,
    server,
    nodes,
    nodeSyncs,
    leases,
    desired: complete ? desiredSets(listed, names) : undefined,
    downError: complete ? undefined : 'some lists failed (see the API problems above)',
    devices: (listed.get('device') ?? []).map(deviceOf),
    problems,
  };
}

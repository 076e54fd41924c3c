// Discovery documents: legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) and aggregated
// (`APIGroupDiscoveryList`, v2 and v2beta1, the latter for kubectl 1.28), from the registry.
import type { JsonObject } from '../../kernel/index.js';
import { allVerbs, type ResourceDef } from './resources.js';

const subresourceVerbs: Readonly<Record<string, readonly string[]>> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  binding: ['create'],
  log: ['get'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
};

/** What a server lets its clients do: everything, or only read (the edge's MetaServer). */
export type ServedAccess = 'read-write' | 'read-only';

const readVerbs: readonly string[] = ['get', 'list', 'watch'];

/**
 * The subresources a read-only server still serves: those read from the stored object. Logs,
 * exec, attach and port-forward reach a running pod, and binding is a write.
 */
const readOnlySubresources: readonly string[] = ['status', 'scale'];

const resourceVerbs = (access: ServedAccess): readonly string[] => (access === 'read-only' ? readVerbs : allVerbs);

/** The subresources `access` serves, each with the verbs it serves. */
const servedSubresources = (def: ResourceDef, access: ServedAccess): readonly { readonly name: string; readonly verbs: readonly string[] }[] =>
  def.subresources
    .filter((sub) => access === 'read-write' || readOnlySubresources.includes(sub))
    .map((sub) => ({ name: sub, verbs: (subresourceVerbs[sub] ?? []).filter((v) => access === 'read-write' || readVerbs.includes(v)) }));

const subresourceKind = (def: ResourceDef, sub: string): { group: string; version: string; kind: string } => {
  switch (sub) {
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding' };
    case 'log':
    case 'exec':
    case 'attach':
    case 'portforward':
      return { group: '', version: 'v1', kind: sub === 'log' ? 'Pod' : sub === 'exec' ? 'PodExecOptions' : sub === 'attach' ? 'PodAttachOptions' : 'PodPortForwardOptions' };
    default:
      return { group: def.group, version: def.version, kind: def.kind };
  }
};

export function apiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(groups: ReadonlyMap<string, readonly string[]>): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].filter(([name]) => name !== '').map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroup(name: string, versions: readonly string[]): JsonObject {
  const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: list, preferredVersion: list[0] ?? null };
}

export function apiResourceList(groupVersion: string, defs: readonly ResourceDef[], access: ServedAccess = 'read-write'): JsonObject {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: defs.flatMap((d) => [
      { name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: [...resourceVerbs(access)], ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}), ...(d.categories.length > 0 ? { categories: d.categories } : {}) },
      ...servedSubresources(d, access).map((sub) => {
        const k = subresourceKind(d, sub.name);
        return { name: `${d.plural}/${sub.name}`, singularName: '', namespaced: d.namespaced, ...(k.group === d.group && k.version === d.version ? {} : { group: k.group, version: k.version }), kind: k.kind, verbs: [...sub.verbs] };
      }),
    ]),
  };
}

/** One entry of `APIGroupDiscoveryList.items`: a group with its versions and resources. */
function groupDiscovery(name: string, versions: readonly string[], defs: readonly ResourceDef[], access: ServedAccess): JsonObject {
  return {
    metadata: { name, creationTimestamp: null },
    versions: versions.map((version) => ({
      version,
      freshness: 'Current',
      resources: defs
        .filter((d) => d.group === name && d.version === version)
        .map((d) => {
          const subresources = servedSubresources(d, access);
          return {
            resource: d.plural,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: d.singular,
            verbs: [...resourceVerbs(access)],
            ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
            ...(d.categories.length > 0 ? { categories: d.categories } : {}),
            ...(subresources.length > 0 ? { subresources: subresources.map((sub) => ({ subresource: sub.name, responseKind: subresourceKind(d, sub.name), verbs: [...sub.verbs] })) } : {}),
          };
        }),
    })),
  };
}

/** `/api` (core only) or `/apis` (every named group) as aggregated discovery. */
export function aggregatedDiscovery(apiVersion: 'v2' | 'v2beta1', core: boolean, groups: ReadonlyMap<string, readonly string[]>, defs: readonly ResourceDef[], access: ServedAccess = 'read-write'): JsonObject {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: [...groups].filter(([name]) => (core ? name === '' : name !== '')).map(([name, versions]) => groupDiscovery(name, versions, defs, access)),
  };
}

/** The parameters of each media range in an Accept header, in the client's order. */
export function acceptedMedia(accept: string | undefined): readonly { readonly type: string; readonly params: ReadonlyMap<string, string> }[] {
  return (accept ?? '').split(',').map((range) => {
    const [type = '', ...params] = range.split(';').map((s) => s.trim());
    return { type, params: new Map(params.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])) };
  });
}

/** Which aggregated discovery version the client accepts first, if any. */
export function aggregatedDiscoveryAccepted(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const media of acceptedMedia(accept)) {
    if (media.params.get('as') !== 'APIGroupDiscoveryList' || media.params.get('g') !== 'apidiscovery.k8s.io') continue;
    const version = media.params.get('v');
    if (version === 'v2' || version === 'v2beta1') return version;
  }
  return undefined;
}

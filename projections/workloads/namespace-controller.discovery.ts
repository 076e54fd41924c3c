// Discovery of what an API server serves, as client-go's ServerPreferredResources walks it: the core
// group's v1 and each named group's preferred version, read as raw JSON through client-node. The
// namespace controller (what to empty) and the garbage collector (what to watch, where owners live)
// both use it. Parsing is pure; only discoverResources does I/O.
import type { KubeConfig } from '@kubernetes/client-node';
import { arrayAt, isTrueAt, objectAt, stringAt, stringsAt } from '../kube/json-fields.js';
import { rawGet } from '../kube/raw-api.js';

/** One resource (no subresources) of one served group version. */
export interface ServedResource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The resource name in paths: `pods`, `replicasets`. */
  readonly plural: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

/** What one discovery found; `failures` names each group version that could not be read, with why. */
export interface Discovery {
  readonly resources: readonly ServedResource[];
  readonly failures: readonly string[];
}

/** Group versions one discovery reads at most (the API server serves a few dozen). */
const GROUP_VERSIONS_MAX = 500;

/** `v1` for the core group, else `group/version`. */
export const apiVersionOfResource = (r: Pick<ServedResource, 'group' | 'version'>): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);

/** `/api/v1/pods`, or `/api/v1/namespaces/ns/pods` when a namespace is given for a namespaced resource. */
export function collectionPath(r: ServedResource, namespace?: string): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced && namespace !== undefined ? `${root}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${root}/${r.plural}`;
}

/** The path of one object; `namespace` is ignored for a cluster-scoped resource. */
export const objectPath = (r: ServedResource, namespace: string | undefined, name: string): string => `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;

/** Whether the resource serves every one of `verbs`. */
export const serves = (r: ServedResource, ...verbs: readonly string[]): boolean => verbs.every((v) => r.verbs.includes(v));

/** The preferred group version of every named group in an APIGroupList (`/apis`). */
export function preferredGroupVersions(groupList: unknown): string[] {
  return arrayAt(groupList, 'groups')
    .map((g) => stringAt(objectAt(g, 'preferredVersion'), 'groupVersion') ?? stringAt(arrayAt(g, 'versions')[0], 'groupVersion'))
    .filter((gv): gv is string => gv !== undefined && gv !== '');
}

/** The resources (subresources left out) of an APIResourceList. */
export function resourcesOfList(list: unknown): ServedResource[] {
  const groupVersion = stringAt(list, 'groupVersion') ?? '';
  const slash = groupVersion.indexOf('/');
  const group = slash < 0 ? '' : groupVersion.slice(0, slash);
  const version = slash < 0 ? groupVersion : groupVersion.slice(slash + 1);
  return arrayAt(list, 'resources').flatMap((r) => {
    const plural = stringAt(r, 'name') ?? '';
    const kind = stringAt(r, 'kind') ?? '';
    if (plural === '' || plural.includes('/') || kind === '' || version === '') return [];
    return [{ group, version, kind, plural, namespaced: isTrueAt(r, 'namespaced'), verbs: stringsAt(r, 'verbs') ?? [] }];
  });
}

/** Reads `/api/v1` and each group's preferred version; a group that fails is named in `failures`. */
export async function discoverResources(kc: KubeConfig): Promise<Discovery> {
  const groups = await rawGet(kc, '/apis');
  const groupVersions = ['v1', ...(groups.ok ? preferredGroupVersions(groups.value) : [])].slice(0, GROUP_VERSIONS_MAX);
  const failures: string[] = groups.ok ? [] : [`/apis: ${groups.error.message}`];
  const resources: ServedResource[] = [];
  for (const gv of groupVersions) {
    const list = await rawGet(kc, gv === 'v1' ? '/api/v1' : `/apis/${gv}`);
    if (list.ok) resources.push(...resourcesOfList(list.value));
    else failures.push(`${gv}: ${list.error.message}`);
  }
  return { resources, failures };
}

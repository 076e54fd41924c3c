// What the garbage collector decides, as kube-controller-manager's does: the objects it keeps as a
// graph (uid, owners), which dependents are suspects (an owner not in the graph), and, once each
// suspect's absent owners are verified against the live API, whether it is deleted (every owner
// gone), loses its dangling references (some owners alive), or is kept. Pure.
import { isJsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';

/** One metadata.ownerReferences entry. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** What the collector remembers of an object: enough to judge it and to address it. */
export interface GraphNode {
  readonly uid: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** undefined for a cluster-scoped object. */
  readonly namespace: string | undefined;
  readonly name: string;
  readonly resourceVersion: string;
  readonly owners: readonly OwnerReference[];
  readonly beingDeleted: boolean;
}

/** An owner as a live GET found it: still there (the same uid), gone (404 or another uid), or not known (the check failed). */
export type OwnerVerdict = 'alive' | 'gone' | 'unknown';

/** What to do with a suspect dependent. */
export type DependentAction =
  | { readonly kind: 'delete' }
  | { readonly kind: 'dropOwners'; readonly owners: readonly OwnerReference[] }
  | { readonly kind: 'keep' };

/** The well-formed owner references of an object (those without a uid are ignored, as upstream's graph does). */
export function ownerReferencesOf(object: unknown): OwnerReference[] {
  return arrayAt(objectAt(object, 'metadata'), 'ownerReferences').flatMap((r) => {
    const uid = stringAt(r, 'uid') ?? '';
    if (uid === '') return [];
    const flags = isJsonObject(r) ? r : {};
    return [
      {
        apiVersion: stringAt(r, 'apiVersion') ?? '',
        kind: stringAt(r, 'kind') ?? '',
        name: stringAt(r, 'name') ?? '',
        uid,
        ...(typeof flags['controller'] === 'boolean' ? { controller: flags['controller'] } : {}),
        ...(typeof flags['blockOwnerDeletion'] === 'boolean' ? { blockOwnerDeletion: flags['blockOwnerDeletion'] } : {}),
      },
    ];
  });
}

/** The graph node of an object listed or watched from a resource; undefined without a uid. */
export function graphNodeOf(object: unknown, resource: { readonly apiVersion: string; readonly kind: string; readonly namespaced: boolean }): GraphNode | undefined {
  const uid = uidOf(object);
  if (uid === '') return undefined;
  const metadata = objectAt(object, 'metadata');
  return {
    uid,
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    namespace: resource.namespaced ? stringAt(metadata, 'namespace') : undefined,
    name: nameOf(object),
    resourceVersion: stringAt(metadata, 'resourceVersion') ?? '',
    owners: ownerReferencesOf(object),
    beingDeleted: stringAt(metadata, 'deletionTimestamp') !== undefined,
  };
}

/**
 * Dependents to verify: not being deleted already (a repeated delete would only rewrite a pod
 * terminating on its node), with at least one owner that is not in the graph.
 */
export function suspectsOf(nodes: Iterable<GraphNode>, inGraph: (uid: string) => boolean): GraphNode[] {
  const suspects: GraphNode[] = [];
  for (const node of nodes) if (!node.beingDeleted && node.owners.some((o) => !inGraph(o.uid))) suspects.push(node);
  return suspects;
}

/** A live GET's answer about an owner: alive only when the object there has the referenced uid. */
export function ownerVerdictOf(answer: { readonly found: unknown } | { readonly status: number }, owner: OwnerReference): OwnerVerdict {
  if ('found' in answer) return uidOf(answer.found) === owner.uid ? 'alive' : 'gone';
  return answer.status === 404 ? 'gone' : 'unknown';
}

/**
 * The action for a suspect, given each owner's verdict: delete when every owner is gone, drop the
 * gone references when some owner is alive, keep while any verdict is unknown (retried later).
 */
export function judgeDependent(node: GraphNode, verdictOf: (owner: OwnerReference) => OwnerVerdict): DependentAction {
  const verdicts = node.owners.map((o) => verdictOf(o));
  if (verdicts.includes('unknown') || node.owners.length === 0) return { kind: 'keep' };
  const alive = node.owners.filter((_, i) => verdicts[i] === 'alive');
  if (alive.length === 0) return { kind: 'delete' };
  if (alive.length === node.owners.length) return { kind: 'keep' };
  return { kind: 'dropOwners', owners: alive };
}

// What the garbage collector decides, as kube-controller-manager's does: the objects it keeps as a
// graph (uid, owners), which dependents are suspects (an owner not in the graph, or one being
// deleted in the foreground), and, once each suspect's absent owners are verified against the live
// API, whether it is deleted (no owner left alive), loses its dangling references (some owners
// alive), or is kept; and when an owner deleted in the foreground may lose its finalizer. Pure.
import { isJsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, objectAt, stringAt, stringsAt, uidOf } from '../kube/json-fields.js';

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
  /** Being deleted in the foreground: it waits for its blocking dependents to go first. */
  readonly deletingDependents: boolean;
  readonly finalizers: readonly string[];
}

/** The finalizer of an owner deleted in the foreground (propagationPolicy=Foreground). */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** Where an owner stands in the graph. */
export type OwnerInGraph = 'absent' | 'present' | 'deletingDependents';

/**
 * An owner's state: alive (the same uid still there), gone (404 or another uid), waiting (being
 * deleted in the foreground: its dependents go first), or unknown (the check failed).
 */
export type OwnerVerdict = 'alive' | 'gone' | 'waiting' | 'unknown';

/** What to do with a suspect dependent. */
export type DependentAction =
  | { readonly kind: 'delete'; readonly propagation: 'Background' | 'Foreground' }
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
  const beingDeleted = stringAt(metadata, 'deletionTimestamp') !== undefined;
  const finalizers = stringsAt(metadata, 'finalizers') ?? [];
  return {
    uid,
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    namespace: resource.namespaced ? stringAt(metadata, 'namespace') : undefined,
    name: nameOf(object),
    resourceVersion: stringAt(metadata, 'resourceVersion') ?? '',
    owners: ownerReferencesOf(object),
    beingDeleted,
    deletingDependents: beingDeleted && finalizers.includes(FOREGROUND_FINALIZER),
    finalizers,
  };
}

/**
 * Dependents to judge: not being deleted already (a repeated delete would only rewrite a pod
 * terminating on its node), with at least one owner absent from the graph or deleting its dependents.
 */
export function suspectsOf(nodes: Iterable<GraphNode>, ownerInGraph: (uid: string) => OwnerInGraph): GraphNode[] {
  const suspects: GraphNode[] = [];
  for (const node of nodes) if (!node.beingDeleted && node.owners.some((o) => ownerInGraph(o.uid) !== 'present')) suspects.push(node);
  return suspects;
}

/**
 * The finalizers an owner deleted in the foreground keeps once no dependent that blocks it
 * (blockOwnerDeletion) is left in the graph; undefined while some remain (dependents being deleted
 * count until they are gone, as a pod terminating on its node).
 */
export function finalizersOnceUnblocked(owner: GraphNode, dependents: readonly GraphNode[]): readonly string[] | undefined {
  if (!owner.deletingDependents) return undefined;
  const blocking = dependents.some((d) => d.owners.some((o) => o.uid === owner.uid && o.blockOwnerDeletion === true));
  return blocking ? undefined : owner.finalizers.filter((f) => f !== FOREGROUND_FINALIZER);
}

/** A live GET's answer about an owner: alive only when the object there has the referenced uid. */
export function ownerVerdictOf(answer: { readonly found: unknown } | { readonly status: number }, owner: OwnerReference): OwnerVerdict {
  if ('found' in answer) return uidOf(answer.found) === owner.uid ? 'alive' : 'gone';
  return answer.status === 404 ? 'gone' : 'unknown';
}

/**
 * The action for a suspect, given each owner's verdict: delete when no owner is alive (in the
 * foreground when an owner waits for it and it has dependents of its own, as upstream), drop the
 * gone and waiting references when some owner is alive, keep while any verdict is unknown.
 */
export function judgeDependent(node: GraphNode, verdictOf: (owner: OwnerReference) => OwnerVerdict, hasDependents: boolean): DependentAction {
  const verdicts = node.owners.map((o) => verdictOf(o));
  if (verdicts.includes('unknown') || node.owners.length === 0) return { kind: 'keep' };
  const alive = node.owners.filter((_, i) => verdicts[i] === 'alive');
  if (alive.length === 0) return { kind: 'delete', propagation: verdicts.includes('waiting') && hasDependents ? 'Foreground' : 'Background' };
  if (alive.length === node.owners.length) return { kind: 'keep' };
  return { kind: 'dropOwners', owners: alive };
}

// What the namespace controller decides for a Terminating namespace, as kube-controller-manager's
// namespace deleter does: which objects to delete, the deletion conditions the namespace shows
// (`kubectl describe ns`), and when its content is gone so its `kubernetes` finalizer can go. Pure.
import { arrayAt, objectAt, stringAt, stringsAt } from '../kube/json-fields.js';

/** The finalizer the namespace controller owns in spec.finalizers. */
export const NAMESPACE_FINALIZER = 'kubernetes';

/** A namespace status condition as the API stores it. */
export interface NamespaceCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

/** A failing condition before it is dated. */
export type FailingCondition = Pick<NamespaceCondition, 'type' | 'reason' | 'message'>;

/** What one sweep of a namespace's content found. */
export interface Sweep {
  /** Group versions discovery could not read (their content may remain unseen). */
  readonly discoveryFailures: readonly string[];
  /** Lists or deletes that failed, one message each. */
  readonly deleteFailures: readonly string[];
  /** Per resource, the objects still there after the deletes (pods terminating on their node among them). */
  readonly remaining: readonly { readonly group: string; readonly plural: string; readonly objects: readonly unknown[] }[];
}

/** The condition types the namespace deleter maintains, with their reason and message when all is well. */
const conditionsWhenOk: readonly (FailingCondition & { readonly type: string })[] = [
  { type: 'NamespaceDeletionDiscoveryFailure', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  { type: 'NamespaceDeletionGroupVersionParsingFailure', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  { type: 'NamespaceDeletionContentFailure', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  { type: 'NamespaceContentRemaining', reason: 'ContentRemoved', message: 'All content successfully removed' },
  { type: 'NamespaceFinalizersRemaining', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
];

const isBeingDeleted = (object: unknown): boolean => stringAt(objectAt(object, 'metadata'), 'deletionTimestamp') !== undefined;

/** spec.finalizers of a namespace. */
export const namespaceFinalizersOf = (namespace: unknown): readonly string[] => stringsAt(objectAt(namespace, 'spec'), 'finalizers') ?? [];

/** A namespace whose content this controller must remove: being deleted and still carrying `kubernetes`. */
export const awaitsContentRemoval = (namespace: unknown): boolean => isBeingDeleted(namespace) && namespaceFinalizersOf(namespace).includes(NAMESPACE_FINALIZER);

/**
 * The listed objects to delete now: those not being deleted already. Deleting a pod that is
 * terminating on its node again would only rewrite it; it counts as remaining until its node is done.
 */
export const objectsToDelete = (objects: readonly unknown[]): readonly unknown[] => objects.filter((o) => !isBeingDeleted(o));

/** spec.finalizers once this controller's own is removed. */
export const finalizersAfterRemoval = (namespace: unknown): readonly string[] => namespaceFinalizersOf(namespace).filter((f) => f !== NAMESPACE_FINALIZER);

/** Nothing left and nothing failed: the `kubernetes` finalizer may be removed. */
export const isContentGone = (sweep: Sweep): boolean => sweep.discoveryFailures.length === 0 && sweep.deleteFailures.length === 0 && sweep.remaining.every((r) => r.objects.length === 0);

/** The conditions that fail after `sweep`, with upstream's reasons and messages. */
export function failingConditions(sweep: Sweep): readonly FailingCondition[] {
  const failing: FailingCondition[] = [];
  if (sweep.discoveryFailures.length > 0) {
    failing.push({ type: 'NamespaceDeletionDiscoveryFailure', reason: 'DiscoveryFailed', message: `Discovery failed for some groups, ${sweep.discoveryFailures.length} failing: ${[...sweep.discoveryFailures].sort().join(', ')}` });
  }
  if (sweep.deleteFailures.length > 0) {
    failing.push({ type: 'NamespaceDeletionContentFailure', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${sweep.deleteFailures.length} remaining: ${[...sweep.deleteFailures].sort().join(', ')}` });
  }
  const left = sweep.remaining.filter((r) => r.objects.length > 0);
  if (left.length > 0) {
    const counts = left.map((r) => `${r.plural}.${r.group} has ${r.objects.length} resource instances`).sort();
    failing.push({ type: 'NamespaceContentRemaining', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${counts.join(', ')}` });
  }
  const byFinalizer = new Map<string, number>();
  for (const object of left.flatMap((r) => r.objects)) for (const f of stringsAt(objectAt(object, 'metadata'), 'finalizers') ?? []) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + 1);
  if (byFinalizer.size > 0) {
    const counts = [...byFinalizer].map(([f, n]) => `${f} in ${n} resource instances`).sort();
    failing.push({ type: 'NamespaceFinalizersRemaining', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${counts.join(', ')}` });
  }
  return failing;
}

/**
 * The namespace's conditions after a sweep, as upstream's updateConditions writes them: every
 * maintained type present, True with its failure or False with its ok reason; a condition's
 * lastTransitionTime moves only when its status changes. `changed` says whether to write.
 */
export function conditionsAfter(existing: readonly unknown[], failing: readonly FailingCondition[], now: string): { readonly conditions: readonly unknown[]; readonly changed: boolean } {
  const conditions: unknown[] = [...existing];
  let changed = false;
  for (const ok of conditionsWhenOk) {
    const fail = failing.find((f) => f.type === ok.type);
    const wanted = { type: ok.type, status: fail === undefined ? 'False' : 'True', reason: (fail ?? ok).reason, message: (fail ?? ok).message };
    const at = conditions.findIndex((c) => stringAt(c, 'type') === ok.type);
    const old = at < 0 ? undefined : conditions[at];
    if (old !== undefined && stringAt(old, 'status') === wanted.status && stringAt(old, 'reason') === wanted.reason && stringAt(old, 'message') === wanted.message) continue;
    const since = old !== undefined && stringAt(old, 'status') === wanted.status ? (stringAt(old, 'lastTransitionTime') ?? now) : now;
    const next = { ...wanted, lastTransitionTime: since };
    if (at < 0) conditions.push(next);
    else conditions[at] = next;
    changed = true;
  }
  return { conditions, changed };
}

/** The namespace's current status conditions. */
export const conditionsOf = (namespace: unknown): readonly unknown[] => arrayAt(objectAt(namespace, 'status'), 'conditions');

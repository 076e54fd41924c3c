// kube-controller-manager's node lifecycle rules for the embedded mode, as pure decisions. A node is
// judged by the local time at which this process last saw a sign of life from it (its Lease renewed,
// or its Ready heartbeat moved), never by comparing its clock with ours (DESIGN.md). Past the grace
// period its conditions become Unknown and it is tainted unreachable:NoSchedule only: its pods are
// not evicted (edge autonomy). A pod bound to a node that no longer exists is deleted once that has
// lasted the grace period.
import { arrayAt, objectAt, stringAt } from '../kube/json-fields.js';

type Raw = Record<string, unknown>;

/** kube-controller-manager's --node-monitor-grace-period default (40 s up to Kubernetes 1.31). */
export const NODE_MONITOR_GRACE_MS_DEFAULT = 40_000;
/** How long a pod may stay bound to a node that does not exist before it is garbage-collected (DESIGN.md). */
export const ORPHAN_POD_GRACE_MS_DEFAULT = 40_000;
/** The taint of a node whose status is Unknown; NoSchedule only in the embedded mode. */
export const UNREACHABLE_TAINT = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' } as const;
/** The message kube-controller-manager writes on each condition it turns Unknown. */
export const STOPPED_POSTING = 'Kubelet stopped posting node status.';

/** What the controller must write for one node, if anything. */
export type NodeVerdict =
  | { readonly kind: 'none' }
  /** Every condition Unknown (reason NodeStatusUnknown), and the unreachable taint added. */
  | { readonly kind: 'markUnknown'; readonly conditions: readonly Raw[]; readonly taints: readonly Raw[] }
  /** The node is heard again and Ready: the unreachable taint goes. */
  | { readonly kind: 'untaint'; readonly taints: readonly Raw[] };

const isUnreachableTaint = (taint: unknown): boolean => stringAt(taint, 'key') === UNREACHABLE_TAINT.key && stringAt(taint, 'effect') === UNREACHABLE_TAINT.effect;

const readyStatusOf = (node: Raw): string | undefined => stringAt(arrayAt(objectAt(node, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'Ready'), 'status');

/**
 * The verdict for `node`, last heard from at `lastHeardMs` on this process's monotonic clock, now
 * `nowMs` on that clock; `at` is the wall time to stamp on conditions.
 */
export function judgeNode(node: Raw, lastHeardMs: number, nowMs: number, graceMs: number, at: string): NodeVerdict {
  const taints = arrayAt(objectAt(node, 'spec'), 'taints').filter((t): t is Raw => typeof t === 'object' && t !== null);
  const tainted = taints.some(isUnreachableTaint);
  const silent = nowMs - lastHeardMs > graceMs;
  const ready = readyStatusOf(node);
  if (silent) {
    if (ready === 'Unknown' && tainted) return { kind: 'none' };
    const conditions = arrayAt(objectAt(node, 'status'), 'conditions').map((c): Raw => {
      const condition = c as Raw;
      // lastTransitionTime moves only for a condition whose status changes.
      const changed = condition['status'] !== 'Unknown';
      return { ...condition, status: 'Unknown', reason: 'NodeStatusUnknown', message: STOPPED_POSTING, ...(changed ? { lastTransitionTime: at } : {}) };
    });
    const withReady = conditions.some((c) => c['type'] === 'Ready') ? conditions : [...conditions, { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: STOPPED_POSTING, lastTransitionTime: at }];
    return { kind: 'markUnknown', conditions: withReady, taints: tainted ? taints : [...taints, { ...UNREACHABLE_TAINT, timeAdded: at }] };
  }
  if (tainted && ready === 'True') return { kind: 'untaint', taints: taints.filter((t) => !isUnreachableTaint(t)) };
  return { kind: 'none' };
}

/** Pods bound to a node that has been missing for longer than the grace period (`missingSinceMs` per node name). */
export function orphanedPods(pods: readonly Raw[], nodeNames: ReadonlySet<string>, missingSinceMs: ReadonlyMap<string, number>, nowMs: number, graceMs: number): Raw[] {
  return pods.filter((pod) => {
    const nodeName = stringAt(objectAt(pod, 'spec'), 'nodeName');
    if (nodeName === undefined || nodeName === '' || nodeNames.has(nodeName)) return false;
    const since = missingSinceMs.get(nodeName);
    return since !== undefined && nowMs - since > graceMs;
  });
}

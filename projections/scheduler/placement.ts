// Where a pod may run, as kube-scheduler's filters decide it for the embedded mode: the node is
// schedulable, matches the pod's nodeSelector and required node affinity, has no taint the pod
// does not tolerate (a node that is not Ready counts as tainted not-ready), has room for the pod's
// requests, and has none of its container ports taken (pods share the host network here). Among the
// nodes that pass, the one with the fewest pods wins, then the name, so replicas spread and the
// choice is reproducible. Pure: objects in, a decision out.
import { quantityBytes } from '../edge-pods/container-launch.js';
import { arrayAt, isTrueAt, objectAt, stringAt } from '../kube/json-fields.js';
import { requirementMatches } from '../kube/selector-requirement.js';

type Raw = Record<string, unknown>;

/** The decision for one pod: a node, or why none fits, in kube-scheduler's words. */
export type Placement = { readonly kind: 'bind'; readonly node: string } | { readonly kind: 'unschedulable'; readonly message: string };

/** Why one node was filtered out; the message counts nodes per reason, as kube-scheduler's does. */
type Misfit = string;

/** The taint every node that is not Ready carries in effect (Kubernetes' TaintNodesByCondition). */
export const NOT_READY_TAINT = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' } as const;

/**
 * Picks a node for `pod` among `nodes`, given the pods already bound (`bound`, any node).
 * @example placePod(pod, [edge1, edge2], bound) // { kind: 'bind', node: 'edge-2' }
 */
export function placePod(pod: Raw, nodes: readonly Raw[], bound: readonly Raw[]): Placement {
  const misfits = new Map<Misfit, number>();
  const candidates: { name: string; pods: number }[] = [];
  const boundByNode = groupByNode(bound);
  for (const node of nodes) {
    const name = stringAt(objectAt(node, 'metadata'), 'name');
    if (name === undefined) continue;
    const onNode = boundByNode.get(name) ?? [];
    const misfit = misfitOf(pod, node, onNode);
    if (misfit === undefined) candidates.push({ name, pods: onNode.length });
    else misfits.set(misfit, (misfits.get(misfit) ?? 0) + 1);
  }
  const best = candidates.sort((a, b) => a.pods - b.pods || a.name.localeCompare(b.name))[0];
  if (best !== undefined) return { kind: 'bind', node: best.name };
  const reasons = [...misfits].map(([why, count]) => `${count} ${why}`).sort();
  return { kind: 'unschedulable', message: `0/${nodes.length} nodes are available${reasons.length === 0 ? '' : `: ${reasons.join(', ')}`}.` };
}

/** The first filter `node` fails for `pod`, undefined when it passes them all. */
function misfitOf(pod: Raw, node: Raw, onNode: readonly Raw[]): Misfit | undefined {
  const spec = objectAt(pod, 'spec');
  if (isTrueAt(objectAt(node, 'spec'), 'unschedulable')) return 'node(s) were unschedulable';
  if (!selectorMatches(spec, node)) return "node(s) didn't match Pod's node affinity/selector";
  const taint = untoleratedTaint(spec, node);
  if (taint !== undefined) return `node(s) had untolerated taint {${taint.key}: ${taint.value}}`;
  const short = insufficientResource(pod, node, onNode);
  if (short !== undefined) return `Insufficient ${short}`;
  if (portsTaken(pod, onNode)) return "node(s) didn't have free ports for the requested pod ports";
  return undefined;
}

function groupByNode(pods: readonly Raw[]): Map<string, Raw[]> {
  const byNode = new Map<string, Raw[]>();
  for (const pod of pods) {
    const node = stringAt(objectAt(pod, 'spec'), 'nodeName');
    const phase = stringAt(objectAt(pod, 'status'), 'phase');
    // Pods that ended hold no resources and no ports.
    if (node === undefined || node === '' || phase === 'Succeeded' || phase === 'Failed') continue;
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  return byNode;
}

const labelsOf = (node: Raw): Raw => objectAt(objectAt(node, 'metadata'), 'labels') ?? {};

/** nodeSelector (every pair) and requiredDuringSchedulingIgnoredDuringExecution (any term, every expression). */
function selectorMatches(spec: Raw | undefined, node: Raw): boolean {
  const labels = labelsOf(node);
  const selector = objectAt(spec, 'nodeSelector') ?? {};
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  const required = objectAt(objectAt(objectAt(spec, 'affinity'), 'nodeAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
  if (required === undefined) return true;
  const terms = arrayAt(required, 'nodeSelectorTerms');
  return terms.some((term) => arrayAt(term, 'matchExpressions').every((expression) => expressionMatches(expression, labels)));
}

const expressionMatches = (expression: unknown, labels: Raw): boolean => requirementMatches(expression, labels, true);

interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: string;
}

/** The taints written on the node (`spec.taints`), without the one its conditions imply. */
function specTaintsOf(node: Raw): Taint[] {
  return arrayAt(objectAt(node, 'spec'), 'taints').flatMap((t) => {
    const key = stringAt(t, 'key');
    const effect = stringAt(t, 'effect');
    return key === undefined || effect === undefined ? [] : [{ key, value: stringAt(t, 'value') ?? '', effect }];
  });
}

function taintsOf(node: Raw): Taint[] {
  const taints = specTaintsOf(node);
  if (!isReady(node)) taints.push({ ...NOT_READY_TAINT, value: '' });
  return taints;
}

/**
 * For controllers that place pods themselves (the DaemonSet controller): whether `node` matches the
 * pod spec's nodeSelector and required node affinity, and every taint of `effects` written on it
 * (`spec.taints` only; unlike placePod, a node that is not Ready counts as tainted only when its
 * taints say so, as upstream's DaemonSet predicates read them) is tolerated by the spec.
 * @example nodeAdmitsBySelectorAndTaints(podSpec, node, ['NoSchedule', 'NoExecute'])
 */
export function nodeAdmitsBySelectorAndTaints(podSpec: Raw | undefined, node: Raw, effects: readonly string[]): boolean {
  if (!selectorMatches(podSpec, node)) return false;
  const tolerations = arrayAt(podSpec, 'tolerations');
  return specTaintsOf(node).every((taint) => !effects.includes(taint.effect) || tolerations.some((t) => tolerates(t, taint)));
}

const isReady = (node: Raw): boolean => arrayAt(objectAt(node, 'status'), 'conditions').some((c) => stringAt(c, 'type') === 'Ready' && stringAt(c, 'status') === 'True');

/** The first NoSchedule/NoExecute taint no toleration of the pod covers (PreferNoSchedule never filters). */
function untoleratedTaint(spec: Raw | undefined, node: Raw): Taint | undefined {
  const tolerations = arrayAt(spec, 'tolerations');
  return taintsOf(node).find((taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)));
}

function tolerates(toleration: unknown, taint: Taint): boolean {
  const effect = stringAt(toleration, 'effect');
  if (effect !== undefined && effect !== '' && effect !== taint.effect) return false;
  const key = stringAt(toleration, 'key') ?? '';
  // An empty key with Exists tolerates every taint.
  if (stringAt(toleration, 'operator') === 'Exists') return key === '' || key === taint.key;
  return key === taint.key && (stringAt(toleration, 'value') ?? '') === taint.value;
}

/** What a pod asks for: the larger of its containers' sum and its biggest init container, per resource. */
function requestsOf(pod: Raw): { cpuMillis: number; memoryBytes: number } {
  const spec = objectAt(pod, 'spec');
  const of = (container: unknown) => {
    const requests = objectAt(objectAt(container, 'resources'), 'requests');
    return { cpuMillis: cpuMillis(stringAt(requests, 'cpu')) ?? 0, memoryBytes: quantityBytes(stringAt(requests, 'memory') ?? '') ?? 0 };
  };
  const containers = arrayAt(spec, 'containers').map(of);
  const inits = arrayAt(spec, 'initContainers').map(of);
  const sum = containers.reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
  return {
    cpuMillis: Math.max(sum.cpuMillis, ...inits.map((i) => i.cpuMillis)),
    memoryBytes: Math.max(sum.memoryBytes, ...inits.map((i) => i.memoryBytes)),
  };
}

/** cpu quantities: `250m`, `1`, `0.5`; undefined when not a quantity. */
export function cpuMillis(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (match === null) return undefined;
  return match[2] === 'm' ? Number(match[1]) : Math.round(Number(match[1]) * 1000);
}

/** The resource the node lacks for this pod next to those already on it (pods, cpu, memory), if any. */
function insufficientResource(pod: Raw, node: Raw, onNode: readonly Raw[]): string | undefined {
  const allocatable = objectAt(objectAt(node, 'status'), 'allocatable');
  const podsMax = Number(stringAt(allocatable, 'pods') ?? Number.POSITIVE_INFINITY);
  if (onNode.length + 1 > podsMax) return 'pods';
  const wanted = requestsOf(pod);
  const used = onNode.map(requestsOf).reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
  const cpu = cpuMillis(stringAt(allocatable, 'cpu'));
  if (wanted.cpuMillis > 0 && cpu !== undefined && used.cpuMillis + wanted.cpuMillis > cpu) return 'cpu';
  const memory = quantityBytes(stringAt(allocatable, 'memory') ?? '');
  if (wanted.memoryBytes > 0 && memory !== undefined && used.memoryBytes + wanted.memoryBytes > memory) return 'memory';
  return undefined;
}

/** `port/protocol` of every container port: on the host network each one is a host port. */
function portsOf(pod: Raw): Set<string> {
  const ports = new Set<string>();
  for (const container of arrayAt(objectAt(pod, 'spec'), 'containers')) {
    for (const port of arrayAt(container, 'ports')) {
      const number = isRecord(port) ? port['containerPort'] : undefined;
      if (typeof number === 'number') ports.add(`${number}/${stringAt(port, 'protocol') ?? 'TCP'}`);
    }
  }
  return ports;
}

const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function portsTaken(pod: Raw, onNode: readonly Raw[]): boolean {
  const wanted = portsOf(pod);
  if (wanted.size === 0) return false;
  return onNode.some((other) => [...portsOf(other)].some((port) => wanted.has(port)));
}

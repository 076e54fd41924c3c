// The cloud process's control loops over the simulated API, run as production's pure plans decide:
// the garbage collector (graphNodeOf, suspectsOf, judgeDependent), the Deployment controller
// (planDeployment), the ReplicaSet controller (planReplicaSet, podFromTemplate) and the scheduler
// (placePod). Only the shells are the simulation's: passes scheduled on the cloud's Incarnation,
// reading the API directly (no informer lag, so no expectations are needed), a bounded number of
// writes per pass, no Kubernetes Events.
import type { JsonObject } from '../kernel/index.js';
import { arrayAt, nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../projections/kube/json-fields.js';
import { placePod } from '../projections/scheduler/placement.js';
import { REVISION_ANNOTATION, deploymentStatusEquals, planDeployment, revisionOf, type DeploymentClock, type DeploymentPlan } from '../projections/workloads/deployment.plan.js';
import { graphNodeOf, judgeDependent, ownerVerdictOf, suspectsOf, type GraphNode, type OwnerInGraph, type OwnerReference } from '../projections/workloads/garbage-collector.plan.js';
import { controllerReference, isTerminating, kubeTime, ownerRefOf, podFromTemplate, templatesEqualIgnoringHash } from '../projections/workloads/pod-template.js';
import { planReplicaSet, replicaSetStatusEquals } from '../projections/workloads/replicaset.plan.js';
import { PLURALS, RESOURCES, groupOfApiVersion, pluralOfKind, type ApiError, type Plural, type SimulatedApi } from './system-api.testing.js';
import type { Incarnation, SimulatedTime } from './simulated-time.testing.js';
import { SIMULATION_EPOCH_MS } from './system-ports.testing.js';

type Raw = Record<string, unknown>;
type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: ApiError };

/** Writes one pass may attempt; the rest waits for the next pass, which the pass asks for itself. */
export const CONTROLLER_WRITES_PER_PASS_MAX = 64;
/** kube-scheduler's name: pods naming another scheduler are left alone (as production's PodScheduler). */
const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Counts a pass's write attempts against its bound. */
class WriteBudget {
  #left = CONTROLLER_WRITES_PER_PASS_MAX;
  refused = 0;

  /** Takes one write; false when the pass has none left. */
  spend(): boolean {
    if (this.#left <= 0) return false;
    this.#left -= 1;
    return true;
  }

  /** Notes a refused write (a stale plan step; the next pass plans again). */
  note(outcome: Outcome): boolean {
    if (!outcome.ok) this.refused += 1;
    return outcome.ok;
  }
}

/** What the control loops did so far, for a run's summary. */
export interface ControllerStats {
  passes: number;
  refusedWrites: number;
}

/**
 * The control loops of one cloud process life. The world calls `kick()` on every API change;
 * passes coalesce (one scheduled at a time, `passDelayMs` after the first kick), run only while
 * `life` lives, and ask for another pass while they changed something, so a run goes idle exactly
 * when the controllers have converged.
 * @example
 * const controllers = new CloudControllers(api, time, cloud.life, { passDelayMs: 5 });
 * api.watch(() => controllers.kick());
 */
export class CloudControllers {
  readonly #api: SimulatedApi;
  readonly #time: SimulatedTime;
  readonly #life: Incarnation;
  readonly #passDelayMs: number;
  #passDue = false;
  readonly stats: ControllerStats = { passes: 0, refusedWrites: 0 };

  constructor(api: SimulatedApi, time: SimulatedTime, life: Incarnation, options: { readonly passDelayMs: number }) {
    this.#api = api;
    this.#time = time;
    this.#life = life;
    this.#passDelayMs = options.passDelayMs;
  }

  /** Asks for a pass (coalesced); nothing once this life is over. */
  kick(): void {
    if (this.#passDue || !this.#life.alive) return;
    this.#passDue = true;
    this.#time.schedule(this.#passDelayMs, this.#life, () => {
      this.#passDue = false;
      this.#pass();
    });
  }

  #pass(): void {
    this.stats.passes += 1;
    const revisionBefore = this.#api.resourceVersion;
    const budget = new WriteBudget();
    const nowMs = SIMULATION_EPOCH_MS + this.#time.now;
    // Each loop reads the API afresh, so it sees what the loops before it wrote in this pass.
    collectGarbage(this.#api, budget);
    reconcileDeployments(this.#api, budget, { nowMs, nowIso: kubeTime(nowMs) });
    reconcileReplicaSets(this.#api, budget, nowMs);
    schedulePods(this.#api, budget, nowMs);
    this.stats.refusedWrites += budget.refused;
    // Only a change asks for another pass: a write refused every time must not spin the simulation.
    if (this.#api.resourceVersion !== revisionBefore) this.kick();
  }
}

// ---- garbage collector ----

interface Tracked {
  readonly plural: Plural;
  readonly node: GraphNode;
  readonly object: JsonObject;
}

/** Upstream's GC over the live API: dependents whose owners are all gone are deleted (background), dangling references of the others dropped. */
function collectGarbage(api: SimulatedApi, budget: WriteBudget): void {
  const graph = new Map<string, Tracked>();
  const owning = new Set<string>();
  for (const plural of PLURALS) {
    const rule = RESOURCES[plural];
    for (const object of api.list(plural)) {
      const node = graphNodeOf(object, rule);
      if (node === undefined) continue;
      graph.set(node.uid, { plural, node, object });
      for (const owner of node.owners) owning.add(owner.uid);
    }
  }
  const ownerInGraph = (uid: string): OwnerInGraph => {
    const owner = graph.get(uid);
    return owner === undefined ? 'absent' : owner.node.deletingDependents ? 'deletingDependents' : 'present';
  };
  for (const suspect of suspectsOf([...graph.values()].map((t) => t.node), ownerInGraph)) {
    const tracked = graph.get(suspect.uid)!;
    const action = judgeDependent(suspect, (owner) => verdictOf(api, suspect, owner), owning.has(suspect.uid));
    if (action.kind === 'keep') continue;
    if (!budget.spend()) return;
    const namespace = suspect.namespace ?? '';
    if (action.kind === 'delete') {
      // The simulated API has no foreground deletion: every cascade is a background one.
      budget.note(api.delete(tracked.plural, namespace, suspect.name, { uid: suspect.uid }));
    } else {
      const alive = new Set(action.owners.map((o) => o.uid));
      const owners = arrayAt(objectAt(tracked.object, 'metadata'), 'ownerReferences').filter((r) => alive.has(stringAt(r, 'uid') ?? ''));
      budget.note(api.update(tracked.plural, { ...tracked.object, metadata: { ...objectAt(tracked.object, 'metadata'), ownerReferences: owners } } as JsonObject));
    }
  }
}

/** A live GET of the owner, judged as production's collector judges it; an owner of a kind not served stays unknown (kept, as upstream). */
function verdictOf(api: SimulatedApi, dependent: GraphNode, owner: OwnerReference): ReturnType<typeof ownerVerdictOf> {
  const plural = pluralOfKind(groupOfApiVersion(owner.apiVersion), owner.kind);
  if (plural === undefined) return 'unknown';
  const found = api.get(plural, RESOURCES[plural].namespaced ? (dependent.namespace ?? '') : '', owner.name);
  return ownerVerdictOf(found === undefined ? { status: 404 } : { found }, owner);
}

// ---- Deployment controller ----

function reconcileDeployments(api: SimulatedApi, budget: WriteBudget, clock: DeploymentClock): void {
  for (const deployment of api.list('deployments')) {
    const namespace = namespaceOf(deployment);
    const replicaSets = api.list('replicasets').filter((rs) => namespaceOf(rs) === namespace);
    const pods = api.list('pods').filter((pod) => namespaceOf(pod) === namespace);
    const plan = planDeployment(deployment, replicaSets, pods, clock);
    if (!carryOutDeploymentPlan(api, budget, deployment, plan)) return;
  }
}

/**
 * Production's DeploymentController#carryOut step for step, with its preconditions: each
 * ReplicaSet write carries the resourceVersion the plan read, or the one this pass's earlier write
 * of it returned. False once the budget ran out.
 */
function carryOutDeploymentPlan(api: SimulatedApi, budget: WriteBudget, deployment: Raw, plan: DeploymentPlan): boolean {
  const namespace = namespaceOf(deployment);
  let status = plan.status;
  if (plan.create !== undefined) {
    if (!budget.spend()) return false;
    const created = api.create('replicasets', plan.create);
    budget.note(created);
    if (!created.ok && created.error.kind === 'AlreadyExists') status = collisionStatus(api, deployment, plan.create) ?? status;
  }
  // As production: a ReplicaSet annotated and then scaled in one pass is scaled at the revision its annotation write returned.
  const written = new Map<string, JsonObject>();
  const write = (rs: JsonObject): void => {
    const result = api.update('replicasets', rs);
    budget.note(result);
    if (result.ok) written.set(uidOf(result.value), result.value);
  };
  for (const change of plan.annotate) {
    if (!budget.spend()) return false;
    const rs = written.get(uidOf(change.rs)) ?? change.rs;
    const metadata = objectAt(rs, 'metadata') ?? {};
    write({ ...rs, metadata: { ...metadata, annotations: { ...objectAt(metadata, 'annotations'), ...change.annotations } } } as JsonObject);
  }
  for (const step of plan.scale) {
    if (!budget.spend()) return false;
    const rs = written.get(uidOf(step.rs)) ?? step.rs;
    write({ ...rs, spec: { ...objectAt(rs, 'spec'), replicas: step.to } } as JsonObject);
  }
  for (const rs of plan.remove) {
    if (!budget.spend()) return false;
    budget.note(api.delete('replicasets', namespace, nameOf(rs), { uid: uidOf(rs), resourceVersion: stringAt(objectAt(rs, 'metadata'), 'resourceVersion') ?? '' }));
  }
  if (plan.revision !== undefined && revisionOf(deployment) !== Number(plan.revision)) {
    if (!budget.spend()) return false;
    // Production patches the annotation with a uid precondition only: the current object it is.
    const current = api.get('deployments', namespace, nameOf(deployment));
    if (current !== undefined && uidOf(current) === uidOf(deployment)) {
      const metadata = objectAt(current, 'metadata') ?? {};
      budget.note(api.update('deployments', { ...current, metadata: { ...metadata, annotations: { ...objectAt(metadata, 'annotations'), [REVISION_ANNOTATION]: plan.revision } } } as JsonObject));
    }
  }
  if (!deploymentStatusEquals(deployment, status)) {
    if (!budget.spend()) return false;
    budget.note(api.patchStatus('deployments', namespace, nameOf(deployment), { uid: uidOf(deployment) }, { status }));
  }
  return true;
}

/** A taken ReplicaSet name with another template is a hash collision: collisionCount goes up (production's #createReplicaSet). */
function collisionStatus(api: SimulatedApi, deployment: Raw, wanted: JsonObject): JsonObject | undefined {
  const existing = api.get('replicasets', namespaceOf(deployment), nameOf(wanted));
  const template = objectAt(objectAt(deployment, 'spec'), 'template');
  if (existing === undefined || templatesEqualIgnoringHash(objectAt(objectAt(existing, 'spec'), 'template'), template)) return undefined;
  const stored = objectAt(deployment, 'status') ?? {};
  const count = stored['collisionCount'];
  return { ...stored, collisionCount: (typeof count === 'number' ? count : 0) + 1 } as JsonObject;
}

// ---- ReplicaSet controller ----

function reconcileReplicaSets(api: SimulatedApi, budget: WriteBudget, nowMs: number): void {
  for (const rs of api.list('replicasets')) {
    const namespace = namespaceOf(rs);
    const pods = api.list('pods').filter((pod) => namespaceOf(pod) === namespace);
    if (!carryOutReplicaSetPlan(api, budget, rs, pods, nowMs)) return;
  }
}

/** Production's ReplicaSetController#reconcile: adopt, create from the template, delete (gracefully), write the status. */
function carryOutReplicaSetPlan(api: SimulatedApi, budget: WriteBudget, rs: Raw, pods: readonly Raw[], nowMs: number): boolean {
  const namespace = namespaceOf(rs);
  const owner = ownerRefOf(rs, 'apps/v1', 'ReplicaSet');
  const plan = planReplicaSet(rs, pods, nowMs, true);
  for (const pod of plan.adopt) {
    if (!budget.spend()) return false;
    const metadata = objectAt(pod, 'metadata') ?? {};
    budget.note(api.update('pods', { ...pod, metadata: { ...metadata, ownerReferences: [...arrayAt(metadata, 'ownerReferences'), controllerReference(owner)] } } as JsonObject));
  }
  const template = objectAt(objectAt(rs, 'spec'), 'template');
  for (let i = 0; i < plan.create; i++) {
    if (!budget.spend()) return false;
    budget.note(api.create('pods', podFromTemplate(template, owner, `${nameOf(rs)}-`, namespace)));
  }
  for (const pod of plan.delete) {
    if (!budget.spend()) return false;
    budget.note(api.delete('pods', namespace, nameOf(pod), { uid: uidOf(pod) }));
  }
  if (!replicaSetStatusEquals(rs, plan.status)) {
    if (!budget.spend()) return false;
    budget.note(api.patchStatus('replicasets', namespace, nameOf(rs), { uid: uidOf(rs) }, { status: { ...plan.status } }));
  }
  return true;
}

// ---- scheduler ----

/** A pod the scheduler must place: unbound, not being deleted, for the default scheduler. */
function isPending(pod: Raw): boolean {
  const spec = objectAt(pod, 'spec');
  const nodeName = stringAt(spec, 'nodeName') ?? '';
  return nodeName === '' && (stringAt(spec, 'schedulerName') ?? DEFAULT_SCHEDULER_NAME) === DEFAULT_SCHEDULER_NAME && !isTerminating(pod);
}

/** Production's PodScheduler#pass: oldest pending pod first, bindings of this pass counted at once. */
function schedulePods(api: SimulatedApi, budget: WriteBudget, nowMs: number): void {
  const pods = api.list('pods');
  const pending = pods.filter(isPending);
  if (pending.length === 0) return;
  const nodes = api.list('nodes');
  const bound: Raw[] = pods.filter((pod) => !isPending(pod));
  const created = (pod: Raw): string => stringAt(objectAt(pod, 'metadata'), 'creationTimestamp') ?? '';
  for (const pod of [...pending].sort((a, b) => created(a).localeCompare(created(b)))) {
    const placement = placePod(pod, nodes, bound);
    if (placement.kind === 'bind') {
      if (!budget.spend()) return;
      const result = api.bind(namespaceOf(pod), nameOf(pod), uidOf(pod), placement.node);
      if (budget.note(result) && result.ok) bound.push(result.value);
    } else if (scheduledConditionMessage(pod) !== placement.message) {
      if (!budget.spend()) return;
      budget.note(api.patchStatus('pods', namespaceOf(pod), nameOf(pod), { uid: uidOf(pod) }, { status: unschedulableStatus(pod, placement.message, nowMs) }));
    }
  }
}

/** The message of the pod's PodScheduled=False condition, if it has one (the verdict already written). */
function scheduledConditionMessage(pod: Raw): string | undefined {
  const condition = arrayAt(objectAt(pod, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'PodScheduled' && stringAt(c, 'status') === 'False');
  return condition === undefined ? undefined : stringAt(condition, 'message');
}

/** Production's #unschedulable status: Pending with PodScheduled=False and kube-scheduler's message. */
function unschedulableStatus(pod: Raw, message: string, nowMs: number): JsonObject {
  const others = arrayAt(objectAt(pod, 'status'), 'conditions').filter((c) => stringAt(c, 'type') !== 'PodScheduled');
  const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: new Date(nowMs).toISOString() };
  return { phase: 'Pending', conditions: [...others, condition] } as JsonObject;
}

// The embedded mode's DaemonSet controller (a real cluster runs kube-controller-manager's): it
// reads DaemonSets, Nodes, Pods and ControllerRevisions from shared informers, and in coalesced passes executes what
// planDaemonSet decides for each DaemonSet: the ControllerRevision of its template, daemon pods
// created on and deleted from nodes (with upstream's Events), and the status subresource (under a
// resourceVersion precondition; a conflict waits for the next pass). Its own writes are remembered
// until the watch shows them, so a pass on a stale view never creates a second pod for a node.
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../../kernel/index.js';
import { EventRecorder, involvedObjectOf } from '../kube/event-recorder.js';
import { nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import type { Informer, Informers } from '../kube/informer.js';
import { PassLoop } from '../kube/pass-loop.js';
import type { ReflectorEvent } from '../kube/reflector.js';
import { DAEMONSET_API_VERSION, DAEMONSET_KIND, daemonPodOf, planDaemonSet, type PodDeletion, type RevisionStep } from './daemonset.plan.js';
import { FailedPodBackoff, PodExpectations } from './daemonset.expectations.js';
import { controllerRefOf, isTerminating, labelsOf, selectorMatches } from './pod-template.js';

type Raw = Record<string, unknown>;

export interface DaemonSetControllerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface DaemonSetControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** Shared with the other controllers: one watch per resource. */
  readonly informers: Informers;
  /** Wall time: pod availability (minReadySeconds) and Event times. */
  readonly now: () => Date;
  /** This process's monotonic clock: expectations and the failed-pod back-off. */
  readonly monotonicMs: () => number;
  readonly log?: DaemonSetControllerLog;
}

/** The component name on Events, as kube-controller-manager's. */
export const DAEMONSET_CONTROLLER_NAME = 'daemonset-controller';
/** Upstream's slow start: the first create batch has one pod, each next batch twice as many. */
const SLOW_START_BATCH_MIN = 1;
/** A pass asked for later (minReadySeconds, back-off) comes at most this far ahead. */
const RECHECK_DELAY_MS_MAX = 15 * 60_000;

/** The API's Status message of a failed client-node call (its body is the Status JSON text), else the error's. */
function errorText(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body !== 'string') return stringAt(body, 'message') ?? (error as Error).message;
  try {
    return stringAt(JSON.parse(body) as unknown, 'message') ?? (error as Error).message;
  } catch {
    return (error as Error).message;
  }
}
const statusCodeOf = (error: unknown): number => (error as { code?: number }).code ?? 0;

/** Objects with a controller reference, by the controller's uid. */
function byControllerUid(objects: Iterable<Raw>): Map<string, Raw[]> {
  const byOwner = new Map<string, Raw[]>();
  for (const object of objects) {
    const owner = controllerRefOf(object);
    if (owner?.kind !== DAEMONSET_KIND) continue;
    const owned = byOwner.get(owner.uid);
    if (owned === undefined) byOwner.set(owner.uid, [object]);
    else owned.push(object);
  }
  return byOwner;
}

/**
 * ```ts
 * const daemonSets = new DaemonSetController({ kubeConfig, informers, now: () => new Date(), monotonicMs: () => performance.now(), log });
 * daemonSets.start();
 * await daemonSets.stop();
 * ```
 */
export class DaemonSetController {
  readonly #options: DaemonSetControllerOptions;
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #events: EventRecorder;
  readonly #expectations = new PodExpectations();
  readonly #backoff = new FailedPodBackoff();
  readonly #loop: PassLoop;
  readonly #unsubscribe: (() => void)[] = [];
  #informers: { readonly daemonSets: Informer; readonly nodes: Informer; readonly pods: Informer; readonly revisions: Informer } | undefined;
  #recheck: { readonly timer: NodeJS.Timeout; readonly atMs: number } | undefined;
  /** DaemonSets seen in the last pass: what is remembered of one that is gone is forgotten. */
  #owners = new Set<string>();

  constructor(options: DaemonSetControllerOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.#events = new EventRecorder(options.kubeConfig, DAEMONSET_CONTROLLER_NAME, options.now, options.log);
    this.#loop = new PassLoop(() => this.#pass(), (error) => options.log?.warn({ error: error.message }, 'daemonset pass failed'));
  }

  start(): void {
    const informers = this.#options.informers;
    this.#informers = {
      daemonSets: informers.of('/apis/apps/v1/daemonsets'),
      nodes: informers.of('/api/v1/nodes'),
      pods: informers.of('/api/v1/pods'),
      revisions: informers.of('/apis/apps/v1/controllerrevisions'),
    };
    const { daemonSets, nodes, pods, revisions } = this.#informers;
    this.#unsubscribe.push(
      pods.onChange((event) => this.#podEvent(event)),
      ...[daemonSets, nodes, revisions].map((informer) => informer.onChange(() => void this.#loop.request())),
    );
    void this.#loop.request();
  }

  /** Runs a pass now and waits for it (tests). */
  sync(): Promise<void> {
    return this.#loop.request();
  }

  /** Stops listening and waits for the pass in progress (the informers are the caller's to stop). */
  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.#recheck !== undefined) clearTimeout(this.#recheck.timer);
    this.#recheck = undefined;
    await this.#loop.stop();
  }

  /** Settles this controller's own creates and deletes as the watch shows them, then asks for a pass. */
  #podEvent(event: ReflectorEvent): void {
    const changed = event.type === 'listed' ? event.objects : [event.object];
    for (const pod of changed) {
      const owner = controllerRefOf(pod);
      if (owner?.kind === DAEMONSET_KIND) this.#expectations.observe(owner.uid, uidOf(pod), event.type === 'DELETED' || isTerminating(pod));
    }
    void this.#loop.request();
  }

  async #pass(): Promise<void> {
    const informers = this.#informers;
    if (informers === undefined || ![informers.daemonSets, informers.nodes, informers.pods, informers.revisions].every((i) => i.synced)) return;
    // No DaemonSet: nothing to group (every pod event asks for a pass; at thousands of pods that counts).
    if (informers.daemonSets.objects().next().done === true && this.#owners.size === 0) return;
    const nodes = [...informers.nodes.objects()];
    const pods = byControllerUid(informers.pods.objects());
    const revisions = byControllerUid(informers.revisions.objects());
    const live = new Set<string>();
    for (const ds of [...informers.daemonSets.objects()]) {
      if (this.#loop.stopped) return;
      live.add(uidOf(ds));
      await this.#sync(ds, nodes, pods.get(uidOf(ds)) ?? [], revisions.get(uidOf(ds)) ?? []);
    }
    for (const owner of this.#owners) {
      if (live.has(owner)) continue;
      this.#expectations.forget(owner);
      this.#backoff.forget(owner);
    }
    this.#owners = live;
  }

  /** One DaemonSet: plan from the current view, then write the revision, pods, status and history. */
  async #sync(ds: Raw, nodes: readonly Raw[], controlledPods: readonly Raw[], controlledRevisions: readonly Raw[]): Promise<void> {
    const uid = uidOf(ds);
    const namespace = namespaceOf(ds);
    const selector = objectAt(objectAt(ds, 'spec'), 'selector');
    const owned = controlledPods.filter((pod) => namespaceOf(pod) === namespace);
    const pods = owned.filter((pod) => selectorMatches(selector, labelsOf(pod)));
    const revisions = controlledRevisions.filter((revision) => namespaceOf(revision) === namespace);
    const monotonicMs = this.#options.monotonicMs();
    const backoff = this.#backoff.inBackoff(uid, monotonicMs);
    const plan = planDaemonSet({
      daemonSet: ds,
      nodes,
      pods,
      revisions,
      nowMs: this.#options.now().getTime(),
      expectationsSatisfied: this.#expectations.satisfied(uid, new Map(owned.map((pod) => [uidOf(pod), isTerminating(pod)])), monotonicMs),
      failedBackoffNodes: backoff.nodes,
    });
    if (plan === undefined) return;
    if (await this.#writeRevision(ds, plan.revision)) {
      const hash = plan.revision.kind === 'collision' ? '' : plan.revision.hash;
      if (plan.creates.length > 0 || plan.deletes.length > 0) this.#expectations.expect(uid, monotonicMs);
      await this.#deletePods(ds, plan.deletes);
      await this.#createPods(ds, plan.creates, hash);
    }
    if (plan.status !== undefined) await this.#writeStatus(ds, plan.status);
    for (const revision of plan.revisionsToDelete) await this.#deleteRevision(revision);
    const waits = [plan.recheckAfterMs, backoff.endsInMs].filter((ms): ms is number => ms !== undefined);
    if (waits.length > 0) this.#recheckIn(Math.min(...waits));
  }

  /** Makes a ControllerRevision hold the current template; false when pods must wait for another pass. */
  async #writeRevision(ds: Raw, step: RevisionStep): Promise<boolean> {
    const namespace = namespaceOf(ds);
    try {
      switch (step.kind) {
        case 'current':
          return true;
        case 'create':
          await this.#apps.createNamespacedControllerRevision({ namespace, body: step.revision as never });
          this.#options.log?.info({ daemonSet: `${namespace}/${nameOf(ds)}`, revision: nameOf(step.revision) }, 'controller revision created');
          return true;
        case 'renumber':
          await this.#apps.replaceNamespacedControllerRevision({ name: nameOf(step.revision), namespace, body: { ...step.revision, revision: step.number } as never });
          return true;
        case 'collision':
          // The status written after this carries the new collisionCount; the next pass hashes again.
          return false;
      }
    } catch (error) {
      // Already there or changed meanwhile: the watch brings it, and the next pass decides again.
      this.#options.log?.warn({ daemonSet: `${namespace}/${nameOf(ds)}`, step: step.kind, error: errorText(error) }, 'controller revision not written; retried next pass');
      return false;
    }
  }

  /** Deletes concurrently, each under a uid precondition; only accepted deletes are awaited in the watch. */
  async #deletePods(ds: Raw, deletes: readonly PodDeletion[]): Promise<void> {
    const involved = involvedObjectOf(ds, DAEMONSET_API_VERSION, DAEMONSET_KIND);
    await Promise.all(
      deletes.map(async ({ pod, node, why }) => {
        const name = nameOf(pod);
        const namespace = namespaceOf(pod);
        if (why === 'failed') {
          this.#backoff.next(uidOf(ds), node, this.#options.monotonicMs());
          await this.#events.record(involved, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${namespace}/${name} on node ${node}, will try to kill it`);
        }
        try {
          await this.#core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid: uidOf(pod) } } });
          this.#expectations.deleted(uidOf(ds), uidOf(pod));
          this.#options.log?.info({ daemonSet: `${namespace}/${nameOf(ds)}`, pod: name, node, why }, 'daemon pod deleted');
          await this.#events.record(involved, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
        } catch (error) {
          if (statusCodeOf(error) === 404) return;
          this.#options.log?.warn({ pod: `${namespace}/${name}`, error: errorText(error) }, 'daemon pod not deleted');
          await this.#events.record(involved, 'Warning', 'FailedDelete', `Error deleting: ${errorText(error)}`);
        }
      }),
    );
  }

  /**
   * Creates in batches of 1, 2, 4, … as upstream's slow start, so a template the API refuses costs
   * one failed request instead of one per node; the nodes left wait for the next pass.
   */
  async #createPods(ds: Raw, nodeNames: readonly string[], hash: string): Promise<void> {
    let next = 0;
    for (let batch = SLOW_START_BATCH_MIN; next < nodeNames.length; batch *= 2) {
      const names = nodeNames.slice(next, next + batch);
      next += names.length;
      const results = await Promise.all(names.map((node) => this.#createPod(ds, node, hash)));
      if (results.includes(false)) break;
    }
  }

  async #createPod(ds: Raw, node: string, hash: string): Promise<boolean> {
    const involved = involvedObjectOf(ds, DAEMONSET_API_VERSION, DAEMONSET_KIND);
    const namespace = namespaceOf(ds);
    try {
      const created: unknown = await this.#core.createNamespacedPod({ namespace, body: daemonPodOf(ds, node, hash) as never });
      const name = nameOf(created);
      this.#expectations.created(uidOf(ds), uidOf(created));
      this.#options.log?.info({ daemonSet: `${namespace}/${nameOf(ds)}`, pod: name, node }, 'daemon pod created');
      await this.#events.record(involved, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`);
      return true;
    } catch (error) {
      this.#options.log?.warn({ daemonSet: `${namespace}/${nameOf(ds)}`, node, error: errorText(error) }, 'daemon pod not created');
      await this.#events.record(involved, 'Warning', 'FailedCreate', `Error creating: ${errorText(error)}`);
      return false;
    }
  }

  /** PUT /status with the resourceVersion the plan saw: a conflict means a newer DaemonSet, whose own pass follows. */
  async #writeStatus(ds: Raw, status: JsonObject): Promise<void> {
    try {
      await this.#apps.replaceNamespacedDaemonSetStatus({ name: nameOf(ds), namespace: namespaceOf(ds), body: { ...ds, apiVersion: DAEMONSET_API_VERSION, kind: DAEMONSET_KIND, status } as never });
    } catch (error) {
      if (statusCodeOf(error) === 409 || statusCodeOf(error) === 404) return;
      this.#options.log?.warn({ daemonSet: `${namespaceOf(ds)}/${nameOf(ds)}`, error: errorText(error) }, 'daemonset status not written; retried next pass');
    }
  }

  async #deleteRevision(revision: Raw): Promise<void> {
    try {
      await this.#apps.deleteNamespacedControllerRevision({ name: nameOf(revision), namespace: namespaceOf(revision), body: { preconditions: { uid: uidOf(revision) } } });
    } catch (error) {
      if (statusCodeOf(error) !== 404) this.#options.log?.warn({ revision: `${namespaceOf(revision)}/${nameOf(revision)}`, error: errorText(error) }, 'old controller revision not deleted');
    }
  }

  /** Asks for a pass in `delayMs` unless one is already due sooner. */
  #recheckIn(delayMs: number): void {
    if (this.#loop.stopped) return;
    const bounded = Math.min(RECHECK_DELAY_MS_MAX, Math.max(1, delayMs));
    const atMs = this.#options.monotonicMs() + bounded;
    if (this.#recheck !== undefined && this.#recheck.atMs <= atMs) return;
    if (this.#recheck !== undefined) clearTimeout(this.#recheck.timer);
    const timer = setTimeout(() => {
      this.#recheck = undefined;
      void this.#loop.request();
    }, bounded);
    timer.unref();
    this.#recheck = { timer, atMs };
  }
}

// The embedded mode's ReplicaSet controller (a real cluster runs kube-controller-manager's): it keeps
// each ReplicaSet's pod count at spec.replicas and writes its status, through client-node. Between a
// create or delete and the watch showing it, the ReplicaSet waits ("expectations", as upstream), so
// a pass that runs on a stale view never creates or deletes twice.
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { EventRecorder, involvedObjectOf } from '../kube/event-recorder.js';
import type { Informer, Informers } from '../kube/informer.js';
import { PassLoop, passOnChanges } from '../kube/pass-loop.js';
import { controllerRefOf, controllerReference, isTerminating, ownerRefOf, podFromTemplate } from './pod-template.js';
import { planReplicaSet, replicaSetStatusEquals, type ReplicaSetStatus } from './replicaset.plan.js';

type Raw = Record<string, unknown>;

export interface ControllerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ReplicaSetControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly informers: Informers;
  readonly now: () => Date;
  readonly log?: ControllerLog;
  /** How long a create or delete may stay unseen before the controller stops waiting for it. */
  readonly expectationTimeoutMs?: number;
  /** Passes run at least this often, so minReadySeconds elapse into availability. */
  readonly resyncMs?: number;
}

const COMPONENT = 'replicaset-controller';
const EXPECTATION_TIMEOUT_MS_DEFAULT = 60_000;
const RESYNC_MS_DEFAULT = 5_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Creates and deletes of one ReplicaSet not yet seen in the watch. */
interface Expectations {
  readonly creates: Set<string>;
  readonly deletes: Set<string>;
  readonly sinceMs: number;
}

/**
 * ```ts
 * const informers = new Informers(kc);
 * const replicaSets = new ReplicaSetController({ kubeConfig: kc, informers, now: () => new Date() });
 * replicaSets.start();
 * ```
 */
export class ReplicaSetController {
  readonly #options: ReplicaSetControllerOptions;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #loop: PassLoop;
  readonly #expectations = new Map<string, Expectations>();
  #stopDriving: (() => void) | undefined;
  #replicaSets: Informer | undefined;
  #pods: Informer | undefined;

  constructor(options: ReplicaSetControllerOptions) {
    this.#options = options;
    this.#apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#events = new EventRecorder(options.kubeConfig, COMPONENT, options.now, options.log);
    this.#loop = new PassLoop(() => this.#pass(), (error) => options.log?.warn({ error: error.message }, 'replicaset pass failed'));
  }

  start(): void {
    this.#replicaSets = this.#options.informers.of('/apis/apps/v1/replicasets');
    this.#pods = this.#options.informers.of('/api/v1/pods');
    this.#stopDriving = passOnChanges(this.#loop, [this.#replicaSets, this.#pods], this.#options.resyncMs ?? RESYNC_MS_DEFAULT);
  }

  /** Runs a pass now and waits for it (tests). */
  sync(): Promise<void> {
    return this.#loop.request();
  }

  async stop(): Promise<void> {
    this.#stopDriving?.();
    await this.#loop.stop();
  }

  async #pass(): Promise<void> {
    const replicaSets = this.#replicaSets;
    const podInformer = this.#pods;
    if (replicaSets === undefined || podInformer === undefined || !replicaSets.synced || !podInformer.synced) return;
    // No ReplicaSet: nothing to group (every pod event asks for a pass; at thousands of pods that counts).
    if (replicaSets.objects().next().done === true) {
      this.#expectations.clear();
      return;
    }
    const pods = [...podInformer.objects()];
    const byOwner = new Map<string, Raw[]>();
    const orphansByNamespace = new Map<string, Raw[]>();
    for (const pod of pods) {
      const ref = controllerRefOf(pod);
      const key = ref === undefined ? namespaceOf(pod) : ref.uid;
      const into = ref === undefined ? orphansByNamespace : byOwner;
      into.set(key, [...(into.get(key) ?? []), pod]);
    }
    const nowMs = this.#options.now().getTime();
    const live = new Set<string>();
    for (const rs of [...replicaSets.objects()]) {
      if (this.#loop.stopped) return;
      live.add(uidOf(rs));
      const candidates = [...(byOwner.get(uidOf(rs)) ?? []), ...(orphansByNamespace.get(namespaceOf(rs)) ?? [])];
      await this.#reconcile(rs, candidates, nowMs);
    }
    for (const uid of this.#expectations.keys()) if (!live.has(uid)) this.#expectations.delete(uid);
  }

  async #reconcile(rs: Raw, pods: readonly Raw[], nowMs: number): Promise<void> {
    const settled = this.#expectationsMet(rs, pods, nowMs);
    const plan = planReplicaSet(rs, pods, nowMs, settled);
    for (const pod of plan.adopt) await this.#adopt(rs, pod);
    if (plan.create > 0 || plan.delete.length > 0) {
      const expectations: Expectations = { creates: new Set(), deletes: new Set(), sinceMs: nowMs };
      this.#expectations.set(uidOf(rs), expectations);
      for (let i = 0; i < plan.create; i++) await this.#createPod(rs, expectations);
      for (const pod of plan.delete) await this.#deletePod(rs, pod, expectations);
    }
    if (!replicaSetStatusEquals(rs, plan.status)) await this.#writeStatus(rs, plan.status);
  }

  /** Whether every create and delete of this ReplicaSet has shown up in the watch (or waited too long). */
  #expectationsMet(rs: Raw, pods: readonly Raw[], nowMs: number): boolean {
    const expectations = this.#expectations.get(uidOf(rs));
    if (expectations === undefined) return true;
    for (const pod of pods) {
      expectations.creates.delete(nameOf(pod));
      if (isTerminating(pod)) expectations.deletes.delete(uidOf(pod));
    }
    const present = new Set(pods.map(uidOf));
    for (const uid of expectations.deletes) if (!present.has(uid)) expectations.deletes.delete(uid);
    const met = (expectations.creates.size === 0 && expectations.deletes.size === 0) || nowMs - expectations.sinceMs > (this.#options.expectationTimeoutMs ?? EXPECTATION_TIMEOUT_MS_DEFAULT);
    if (met) this.#expectations.delete(uidOf(rs));
    return met;
  }

  async #createPod(rs: Raw, expectations: Expectations): Promise<void> {
    const namespace = namespaceOf(rs);
    const template = objectAt(objectAt(rs, 'spec'), 'template');
    const body = podFromTemplate(template, ownerRefOf(rs, 'apps/v1', 'ReplicaSet'), `${nameOf(rs)}-`, namespace);
    try {
      const created = await this.#core.createNamespacedPod({ namespace, body: body as never });
      const name = created.metadata?.name ?? '';
      expectations.creates.add(name);
      await this.#events.record(involvedObjectOf(rs, 'apps/v1', 'ReplicaSet'), 'Normal', 'SuccessfulCreate', `Created pod: ${name}`);
    } catch (error) {
      const message = messageOf(error);
      this.#options.log?.warn({ replicaSet: `${namespace}/${nameOf(rs)}`, error: message }, 'pod not created');
      await this.#events.record(involvedObjectOf(rs, 'apps/v1', 'ReplicaSet'), 'Warning', 'FailedCreate', `Error creating: ${message}`);
    }
  }

  async #deletePod(rs: Raw, pod: Raw, expectations: Expectations): Promise<void> {
    const name = nameOf(pod);
    try {
      await this.#core.deleteNamespacedPod({ name, namespace: namespaceOf(pod), body: { preconditions: { uid: uidOf(pod) } } });
      expectations.deletes.add(uidOf(pod));
      await this.#events.record(involvedObjectOf(rs, 'apps/v1', 'ReplicaSet'), 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (error) {
      // Gone already, or replaced by another pod of that name: the watch brings the truth.
      this.#options.log?.warn({ pod: `${namespaceOf(pod)}/${name}`, error: messageOf(error) }, 'pod not deleted');
    }
  }

  /** Takes an orphan that matches the selector, at the revision read (a concurrent change wins). */
  async #adopt(rs: Raw, pod: Raw): Promise<void> {
    const others = ((objectAt(pod, 'metadata')?.['ownerReferences'] as unknown[] | undefined) ?? []);
    const resourceVersion = stringAt(objectAt(pod, 'metadata'), 'resourceVersion');
    const body = { metadata: { resourceVersion, uid: uidOf(pod), ownerReferences: [...others, controllerReference(ownerRefOf(rs, 'apps/v1', 'ReplicaSet'))] } };
    try {
      await this.#core.patchNamespacedPod({ name: nameOf(pod), namespace: namespaceOf(pod), body }, mergePatch);
    } catch (error) {
      this.#options.log?.warn({ pod: `${namespaceOf(pod)}/${nameOf(pod)}`, error: messageOf(error) }, 'pod not adopted');
    }
  }

  async #writeStatus(rs: Raw, status: ReplicaSetStatus): Promise<void> {
    try {
      await this.#apps.patchNamespacedReplicaSetStatus({ name: nameOf(rs), namespace: namespaceOf(rs), body: { metadata: { uid: uidOf(rs) }, status } }, mergePatch);
    } catch (error) {
      this.#options.log?.warn({ replicaSet: `${namespaceOf(rs)}/${nameOf(rs)}`, error: messageOf(error) }, 'replicaset status not written');
    }
  }
}

/** The Status message of a failed API call, else the error's own. */
export function messageOf(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not JSON: the error's own message follows.
    }
  }
  return error instanceof Error ? error.message : String(error);
}

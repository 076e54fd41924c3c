// The embedded mode's Deployment controller (a real cluster runs kube-controller-manager's): for
// each Deployment it carries out planDeployment through client-node — new ReplicaSets, scaling
// steps (each with the ReplicaSet's resourceVersion as a precondition, so a step planned on a stale
// view fails instead of doing harm), revision annotations, history trimming and the status that
// `kubectl rollout status` reads. It records ScalingReplicaSet Events as upstream does.
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../../kernel/index.js';
import { nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { EventRecorder, involvedObjectOf } from '../kube/event-recorder.js';
import type { Informer, Informers } from '../kube/informer.js';
import { PassLoop, passOnChanges } from '../kube/pass-loop.js';
import { REVISION_ANNOTATION, deploymentStatusEquals, planDeployment, revisionOf, type DeploymentPlan, type ScaleStep } from './deployment.plan.js';
import { kubeTime, templatesEqualIgnoringHash } from './pod-template.js';
import { messageOf, type ControllerLog } from './replicaset-controller.js';

type Raw = Record<string, unknown>;

export interface DeploymentControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly informers: Informers;
  readonly now: () => Date;
  readonly log?: ControllerLog;
  /** Passes run at least this often, so progress deadlines are noticed. */
  readonly resyncMs?: number;
}

const COMPONENT = 'deployment-controller';
const RESYNC_MS_DEFAULT = 5_000;
/** How long a created ReplicaSet may stay unseen before the Deployment is planned again without it. */
const CREATE_EXPECTATION_MS = 60_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * ```ts
 * const deployments = new DeploymentController({ kubeConfig: kc, informers, now: () => new Date() });
 * deployments.start();
 * ```
 */
export class DeploymentController {
  readonly #options: DeploymentControllerOptions;
  readonly #apps: AppsV1Api;
  readonly #events: EventRecorder;
  readonly #loop: PassLoop;
  /** ReplicaSet names created per Deployment uid and not yet seen, with when. */
  readonly #creating = new Map<string, { readonly name: string; readonly sinceMs: number }>();
  #stopDriving: (() => void) | undefined;
  #deployments: Informer | undefined;
  #replicaSets: Informer | undefined;
  #pods: Informer | undefined;

  constructor(options: DeploymentControllerOptions) {
    this.#options = options;
    this.#apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.#events = new EventRecorder(options.kubeConfig, COMPONENT, options.now, options.log);
    this.#loop = new PassLoop(() => this.#pass(), (error) => options.log?.warn({ error: error.message }, 'deployment pass failed'));
  }

  start(): void {
    const informers = this.#options.informers;
    this.#deployments = informers.of('/apis/apps/v1/deployments');
    this.#replicaSets = informers.of('/apis/apps/v1/replicasets');
    this.#pods = informers.of('/api/v1/pods');
    // Pods matter only to Recreate (waiting for old pods to go); ReplicaSet statuses carry the rest.
    this.#stopDriving = passOnChanges(this.#loop, [this.#deployments, this.#replicaSets, this.#pods], this.#options.resyncMs ?? RESYNC_MS_DEFAULT);
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
    const [deployments, replicaSets, pods] = [this.#deployments, this.#replicaSets, this.#pods];
    if (deployments === undefined || replicaSets === undefined || pods === undefined) return;
    if (!deployments.synced || !replicaSets.synced || !pods.synced) return;
    if (deployments.objects().next().done === true) return;
    const allReplicaSets = [...replicaSets.objects()];
    const allPods = [...pods.objects()];
    const now = this.#options.now().getTime();
    const clock = { nowMs: now, nowIso: kubeTime(now) };
    for (const deployment of [...deployments.objects()]) {
      if (this.#loop.stopped) return;
      const namespace = namespaceOf(deployment);
      const inNamespace = allReplicaSets.filter((rs) => namespaceOf(rs) === namespace);
      if (this.#awaitingCreate(deployment, inNamespace, now)) continue;
      const plan = planDeployment(deployment, inNamespace, allPods.filter((pod) => namespaceOf(pod) === namespace), clock);
      await this.#carryOut(deployment, plan, now);
    }
  }

  /** Whether a ReplicaSet this controller created for the Deployment has not shown up in the watch yet. */
  #awaitingCreate(deployment: Raw, replicaSets: readonly Raw[], nowMs: number): boolean {
    const pending = this.#creating.get(uidOf(deployment));
    if (pending === undefined) return false;
    if (replicaSets.some((rs) => nameOf(rs) === pending.name) || nowMs - pending.sinceMs > CREATE_EXPECTATION_MS) {
      this.#creating.delete(uidOf(deployment));
      return false;
    }
    return true;
  }

  async #carryOut(deployment: Raw, plan: DeploymentPlan, nowMs: number): Promise<void> {
    let status = plan.status;
    if (plan.create !== undefined) status = (await this.#createReplicaSet(deployment, plan.create, nowMs)) ?? status;
    // A ReplicaSet annotated and then scaled in one pass is written at the revision the first write
    // returned, not the one the plan read (that would conflict with our own write every time).
    const written = new Map<string, string>();
    for (const change of plan.annotate) await this.#patchReplicaSet(change.rs, { metadata: { annotations: change.annotations } }, written);
    for (const step of plan.scale) await this.#scale(deployment, step, written);
    for (const rs of plan.remove) await this.#removeReplicaSet(rs);
    if (plan.revision !== undefined && revisionOf(deployment) !== Number(plan.revision)) await this.#annotateRevision(deployment, plan.revision);
    if (!deploymentStatusEquals(deployment, status)) await this.#writeStatus(deployment, status);
  }

  /**
   * Creates the new ReplicaSet. A name taken by a ReplicaSet with another template is a hash
   * collision: the Deployment's collisionCount goes up (in the returned status) and the next pass
   * hashes anew, as upstream.
   */
  async #createReplicaSet(deployment: Raw, body: JsonObject, nowMs: number): Promise<JsonObject | undefined> {
    const namespace = namespaceOf(deployment);
    const name = stringAt(objectAt(body, 'metadata'), 'name') ?? '';
    try {
      await this.#apps.createNamespacedReplicaSet({ namespace, body: body as never });
      this.#creating.set(uidOf(deployment), { name, sinceMs: nowMs });
      const replicas = objectAt(body, 'spec')?.['replicas'];
      await this.#events.record(involvedObjectOf(deployment, 'apps/v1', 'Deployment'), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${String(replicas)}`);
      return undefined;
    } catch (error) {
      if ((error as { code?: number }).code !== 409) {
        this.#options.log?.warn({ deployment: `${namespace}/${nameOf(deployment)}`, error: messageOf(error) }, 'replicaset not created');
        return undefined;
      }
      const existing = await this.#apps.readNamespacedReplicaSet({ name, namespace }).catch(() => undefined);
      const sameTemplate = existing !== undefined && templatesEqualIgnoringHash(existing.spec?.template, objectAt(objectAt(deployment, 'spec'), 'template'));
      if (sameTemplate) return undefined;
      const collisionCount = objectAt(deployment, 'status')?.['collisionCount'];
      return { ...(objectAt(deployment, 'status') ?? {}), collisionCount: (typeof collisionCount === 'number' ? collisionCount : 0) + 1 } as JsonObject;
    }
  }

  async #scale(deployment: Raw, step: ScaleStep, written: Map<string, string>): Promise<void> {
    if (!(await this.#patchReplicaSet(step.rs, { spec: { replicas: step.to } }, written))) return;
    const direction = step.to > step.from ? 'up' : 'down';
    await this.#events.record(involvedObjectOf(deployment, 'apps/v1', 'Deployment'), 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${nameOf(step.rs)} from ${step.from} to ${step.to}`);
  }

  /**
   * A merge patch at the revision the plan read, or the one this pass's last write of it returned
   * (`written`, by uid, updated here): false when the ReplicaSet changed or went meanwhile.
   */
  async #patchReplicaSet(rs: Raw, body: Record<string, unknown>, written: Map<string, string>): Promise<boolean> {
    const resourceVersion = written.get(uidOf(rs)) ?? stringAt(objectAt(rs, 'metadata'), 'resourceVersion');
    const metadata = { ...((body['metadata'] as Raw | undefined) ?? {}), uid: uidOf(rs), resourceVersion };
    try {
      const patched = await this.#apps.patchNamespacedReplicaSet({ name: nameOf(rs), namespace: namespaceOf(rs), body: { ...body, metadata } }, mergePatch);
      const next = patched.metadata?.resourceVersion;
      if (next !== undefined) written.set(uidOf(rs), next);
      return true;
    } catch (error) {
      this.#options.log?.info({ replicaSet: `${namespaceOf(rs)}/${nameOf(rs)}`, error: messageOf(error) }, 'replicaset changed meanwhile; next pass');
      return false;
    }
  }

  async #removeReplicaSet(rs: Raw): Promise<void> {
    try {
      await this.#apps.deleteNamespacedReplicaSet({ name: nameOf(rs), namespace: namespaceOf(rs), body: { preconditions: { uid: uidOf(rs), resourceVersion: stringAt(objectAt(rs, 'metadata'), 'resourceVersion') } } });
    } catch (error) {
      this.#options.log?.info({ replicaSet: `${namespaceOf(rs)}/${nameOf(rs)}`, error: messageOf(error) }, 'old replicaset not removed; next pass');
    }
  }

  async #annotateRevision(deployment: Raw, revision: string): Promise<void> {
    try {
      await this.#apps.patchNamespacedDeployment({ name: nameOf(deployment), namespace: namespaceOf(deployment), body: { metadata: { uid: uidOf(deployment), annotations: { [REVISION_ANNOTATION]: revision } } } }, mergePatch);
    } catch (error) {
      this.#options.log?.warn({ deployment: `${namespaceOf(deployment)}/${nameOf(deployment)}`, error: messageOf(error) }, 'deployment revision not annotated');
    }
  }

  async #writeStatus(deployment: Raw, status: JsonObject): Promise<void> {
    try {
      await this.#apps.patchNamespacedDeploymentStatus({ name: nameOf(deployment), namespace: namespaceOf(deployment), body: { metadata: { uid: uidOf(deployment) }, status } }, mergePatch);
    } catch (error) {
      this.#options.log?.warn({ deployment: `${namespaceOf(deployment)}/${nameOf(deployment)}`, error: messageOf(error) }, 'deployment status not written');
    }
  }
}

// Test fixture for the workload controllers: the embedded API server in-process, the ReplicaSet and
// Deployment controllers on shared informers, and a stand-in kubelet that marks every new pod
// Running and Ready (as an edge would report it) and counts how many pods were active at once.
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import type { EmbeddedApiServer } from '../../k8s/index.js';
import { nameOf, namespaceOf, uidOf } from '../kube/json-fields.js';
import { Informers } from '../kube/informer.js';
import { DeploymentController } from './deployment-controller.js';
import { isActivePod, isReadyPod, labelsOf } from './pod-template.js';
import { ReplicaSetController } from './replicaset-controller.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface WorkloadWorld {
  readonly server: EmbeddedApiServer;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  /** The most pods with a label `app=<name>` active at once, per app, since the world started. */
  readonly peakActive: Map<string, number>;
  /** Whether the stand-in kubelet marks new pods Ready (false: they stay Pending, as on a broken node). */
  kubeletReady: boolean;
  /** What the Deployment controller logged, one message per line. */
  readonly deploymentLog: string[];
}

/** Starts and stops worlds; call `teardown` in afterEach. */
export class WorkloadFixture {
  readonly #api = new ApiServerFixture();
  readonly #stops: (() => Promise<void>)[] = [];

  async start(): Promise<WorkloadWorld> {
    const server = await this.#api.start();
    const kc = kubeConfigOf(server);
    const informers = new Informers(kc);
    const replicaSets = new ReplicaSetController({ kubeConfig: kc, informers, now: () => new Date(), resyncMs: 500 });
    const deploymentLog: string[] = [];
    const log = { info: (_: object, message: string) => void deploymentLog.push(message), warn: (_: object, message: string) => void deploymentLog.push(message) };
    const deployments = new DeploymentController({ kubeConfig: kc, informers, now: () => new Date(), resyncMs: 500, log });
    const core = kc.makeApiClient(CoreV1Api);
    const world: WorkloadWorld = { server, kc, core, apps: kc.makeApiClient(AppsV1Api), peakActive: new Map(), kubeletReady: true, deploymentLog };
    const pods = informers.of('/api/v1/pods');
    const marking = new Set<string>();
    const stopKubelet = pods.onChange(() => {
      const active = new Map<string, number>();
      for (const pod of pods.objects()) {
        const app = labelsOf(pod)['app'];
        if (app !== undefined && isActivePod(pod)) active.set(app, (active.get(app) ?? 0) + 1);
        if (!world.kubeletReady || !isActivePod(pod) || isReadyPod(pod) || marking.has(uidOf(pod))) continue;
        marking.add(uidOf(pod));
        const at = new Date().toISOString();
        const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: { startedAt: at } } }] };
        void core.patchNamespacedPodStatus({ name: nameOf(pod), namespace: namespaceOf(pod), body: { status } }, mergePatch).catch(() => marking.delete(uidOf(pod)));
      }
      for (const [app, count] of active) world.peakActive.set(app, Math.max(world.peakActive.get(app) ?? 0, count));
    });
    replicaSets.start();
    deployments.start();
    this.#stops.push(async () => {
      stopKubelet();
      await deployments.stop();
      await replicaSets.stop();
      informers.stop();
    });
    return world;
  }

  async teardown(): Promise<void> {
    for (const stop of this.#stops.splice(0)) await stop();
    await this.#api.teardown();
  }
}

/** A Deployment of `replicas` pods labelled app=<name>, running `command`. */
export function deploymentBody(name: string, replicas: number, command: readonly string[], extra: { strategy?: object; minReadySeconds?: number } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      ...(extra.strategy !== undefined ? { strategy: extra.strategy } : {}),
      ...(extra.minReadySeconds !== undefined ? { minReadySeconds: extra.minReadySeconds } : {}),
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox', command: [...command] }] } },
    },
  };
}

// The control loops of the embedded mode: a cluster without kube-scheduler and
// kube-controller-manager (the embedded API server) gets ours; a real cluster has its own, and
// gets ours only when `edgehive cloud --kubeconfig … --run-controllers` asks for them.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DeploymentController, Informers, NodeLifecycleController, PodScheduler, ReplicaSetController } from '../../projections/index.js';

/**
 * The control loops a cluster without kube-scheduler and kube-controller-manager needs (the
 * embedded one), started together and stopped together.
 */
export function startControlLoops(kc: KubeConfig, log: Logger, nodeGraceMs: number): { stop(): Promise<void> } {
  // The embedded API has no kube-scheduler: this one binds pods that name no node (a real cluster schedules its own).
  const scheduler = new PodScheduler({ kubeConfig: kc, now: () => new Date(), log });
  scheduler.start();
  // And no kube-controller-manager: a silent node goes Unknown and is tainted NoSchedule (its pods
  // stay: edge autonomy), and pods of a deleted node are garbage-collected after 40 s.
  const lifecycle = new NodeLifecycleController({ kubeConfig: kc, monotonicMs: () => performance.now(), now: () => new Date(), graceMs: nodeGraceMs, log });
  lifecycle.start();
  // And no workload controllers: Deployments become ReplicaSets become pods, on shared informers.
  const informers = new Informers(kc, { onError: (error) => log.warn({ error }, 'controller watch failed; retrying') });
  const replicaSets = new ReplicaSetController({ kubeConfig: kc, informers, now: () => new Date(), log });
  const deployments = new DeploymentController({ kubeConfig: kc, informers, now: () => new Date(), log });
  replicaSets.start();
  deployments.start();
  return {
    stop: async () => {
      await scheduler.stop();
      await lifecycle.stop();
      await deployments.stop();
      await replicaSets.stop();
      informers.stop();
    },
  };
}


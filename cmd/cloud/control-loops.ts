// The control loops of the embedded mode: a cluster without kube-scheduler and
// kube-controller-manager (the embedded API server) gets ours; a real cluster has its own, and
// gets ours only when `edgehive cloud --kubeconfig … --run-controllers` asks for them.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DaemonSetController, DeploymentController, GarbageCollector, Informers, NamespaceController, NodeLifecycleController, PodScheduler, ReplicaSetController } from '../../projections/index.js';

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
  // And no workload controllers: Deployments become ReplicaSets become pods, DaemonSets put a pod on
  // each node they select, all on shared informers.
  const informers = new Informers(kc, { onError: (error) => log.warn({ error }, 'controller watch failed; retrying') });
  const replicaSets = new ReplicaSetController({ kubeConfig: kc, informers, now: () => new Date(), log });
  const deployments = new DeploymentController({ kubeConfig: kc, informers, now: () => new Date(), log });
  const daemonSets = new DaemonSetController({ kubeConfig: kc, informers, now: () => new Date(), monotonicMs: () => performance.now(), log });
  replicaSets.start();
  deployments.start();
  daemonSets.start();
  // And no namespace controller or garbage collector: a deleted namespace is emptied (pods on edges
  // terminate gracefully) before it goes; dependents whose owners are gone are collected.
  const namespaces = new NamespaceController({ kubeConfig: kc, now: () => new Date(), log });
  const collector = new GarbageCollector({ kubeConfig: kc, log });
  namespaces.start();
  collector.start();
  return {
    stop: async () => {
      await namespaces.stop();
      await collector.stop();
      await scheduler.stop();
      await lifecycle.stop();
      await daemonSets.stop();
      await deployments.stop();
      await replicaSets.stop();
      informers.stop();
    },
  };
}


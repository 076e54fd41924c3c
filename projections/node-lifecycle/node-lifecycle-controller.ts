// The embedded mode's node lifecycle controller (a real cluster runs kube-controller-manager's): it
// watches Nodes, node Leases and Pods, notes on its own monotonic clock when each node was last
// heard from, and every monitor period writes what judgeNode decides (conditions Unknown plus the
// unreachable:NoSchedule taint, or the taint removed once the node is Ready again) and deletes
// pods bound to a node that has been gone for the grace period.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { arrayAt, nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { applyReflected, reflect, type ReflectorEvent } from '../kube/reflector.js';
import { NODE_LEASE_NAMESPACE } from '../edge-controller/lease-responder.js';
import { NODE_MONITOR_GRACE_MS_DEFAULT, ORPHAN_POD_GRACE_MS_DEFAULT, judgeNode, orphanedPods } from './node-health.js';

export interface NodeLifecycleOptions {
  readonly kubeConfig: KubeConfig;
  /** This process's monotonic clock: liveness never compares another host's timestamps. */
  readonly monotonicMs: () => number;
  /** Wall time for the conditions' transition times. */
  readonly now: () => Date;
  readonly graceMs?: number;
  readonly orphanGraceMs?: number;
  /** How often nodes are judged (kube-controller-manager's --node-monitor-period: 5 s). */
  readonly monitorPeriodMs?: number;
  readonly log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

type Raw = Record<string, unknown>;

const MONITOR_PERIOD_MS_DEFAULT = 5_000;
const readyHeartbeatOf = (node: Raw): string | undefined => stringAt(arrayAt(objectAt(node, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'Ready'), 'lastHeartbeatTime');
const renewTimeOf = (lease: Raw): string | undefined => stringAt(objectAt(lease, 'spec'), 'renewTime');

/**
 * ```ts
 * const lifecycle = new NodeLifecycleController({ kubeConfig, monotonicMs: () => performance.now(), now: () => new Date() });
 * lifecycle.start();
 * ```
 */
export class NodeLifecycleController {
  readonly #options: NodeLifecycleOptions;
  readonly #core: CoreV1Api;
  readonly #nodes = new Map<string, Raw>();
  readonly #pods = new Map<string, Raw>();
  /** Monotonic time each node was last heard from (its Lease renewed or its heartbeat moved). */
  readonly #lastHeard = new Map<string, number>();
  readonly #renewals = new Map<string, string>();
  /** Monotonic time since which a node that pods name has been missing. */
  readonly #missingSince = new Map<string, number>();
  readonly #subscriptions: Subscription[] = [];
  #timer: NodeJS.Timeout | undefined;
  #passing: Promise<void> = Promise.resolve();

  constructor(options: NodeLifecycleOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  start(): void {
    const onError = (error: string): void => this.#options.log?.warn({ error }, 'node lifecycle watch failed; retrying');
    const kc = this.#options.kubeConfig;
    this.#subscriptions.push(
      reflect(kc, '/api/v1/nodes', { onError }).subscribe((event) => this.#nodeEvent(event)),
      reflect(kc, `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, { onError }).subscribe((event) => this.#leaseEvent(event)),
      reflect(kc, '/api/v1/pods', { onError }).subscribe((event) => this.#podEvent(event)),
    );
    this.#timer = setInterval(() => void this.tick(), this.#options.monitorPeriodMs ?? MONITOR_PERIOD_MS_DEFAULT);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const subscription of this.#subscriptions.splice(0)) subscription.unsubscribe();
    await this.#passing;
  }

  /** Judges every node and collects orphaned pods now (the monitor timer calls it; tests too). */
  tick(): Promise<void> {
    this.#passing = this.#passing.then(() => this.#pass()).catch((error: Error) => this.#options.log?.warn({ error: error.message }, 'node lifecycle pass failed'));
    return this.#passing;
  }

  #heard(name: string): void {
    this.#lastHeard.set(name, this.#options.monotonicMs());
  }

  #nodeEvent(event: ReflectorEvent): void {
    const objects = event.type === 'listed' ? event.objects : [event.object];
    if (event.type === 'listed') this.#nodes.clear();
    for (const node of objects) {
      const name = nameOf(node);
      if (event.type === 'DELETED') {
        this.#nodes.delete(name);
        this.#lastHeard.delete(name);
        continue;
      }
      const before = this.#nodes.get(name);
      // First sight counts as heard: a node is given the whole grace period from when we met it.
      if (before === undefined || readyHeartbeatOf(before) !== readyHeartbeatOf(node)) this.#heard(name);
      this.#nodes.set(name, node);
      this.#missingSince.delete(name);
    }
    // Only a node that went (or a list without it) can leave pods naming a missing node.
    if (event.type === 'listed' || event.type === 'DELETED') this.#noteMissing(this.#pods.values());
  }

  #leaseEvent(event: ReflectorEvent): void {
    const objects = event.type === 'listed' ? event.objects : event.type === 'DELETED' ? [] : [event.object];
    for (const lease of objects) {
      const name = nameOf(lease);
      const renewed = renewTimeOf(lease);
      if (renewed === undefined || this.#renewals.get(name) === renewed) continue;
      this.#renewals.set(name, renewed);
      this.#heard(name);
    }
  }

  #podEvent(event: ReflectorEvent): void {
    applyReflected(this.#pods, event, uidOf);
    // One pod names one node: only a list needs the whole scan.
    if (event.type === 'listed') this.#noteMissing(this.#pods.values());
    else if (event.type !== 'DELETED') this.#noteMissing([event.object]);
  }

  /** Starts the clock for every node that these pods name and that does not exist. */
  #noteMissing(pods: Iterable<Raw>): void {
    for (const pod of pods) {
      const nodeName = stringAt(objectAt(pod, 'spec'), 'nodeName');
      if (nodeName === undefined || nodeName === '' || this.#nodes.has(nodeName) || this.#missingSince.has(nodeName)) continue;
      this.#missingSince.set(nodeName, this.#options.monotonicMs());
    }
  }

  async #pass(): Promise<void> {
    const nowMs = this.#options.monotonicMs();
    const at = this.#options.now().toISOString();
    const graceMs = this.#options.graceMs ?? NODE_MONITOR_GRACE_MS_DEFAULT;
    for (const [name, node] of this.#nodes) {
      const verdict = judgeNode(node, this.#lastHeard.get(name) ?? nowMs, nowMs, graceMs, at);
      if (verdict.kind === 'none') continue;
      try {
        if (verdict.kind === 'markUnknown') {
          await this.#core.patchNodeStatus({ name, body: { status: { conditions: verdict.conditions } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
          this.#options.log?.info({ node: name }, 'node silent past the grace period: status Unknown, tainted unreachable:NoSchedule');
        } else {
          this.#options.log?.info({ node: name }, 'node heard again and Ready: unreachable taint removed');
        }
        await this.#core.patchNode({ name, body: { spec: { taints: verdict.taints } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      } catch (error) {
        this.#options.log?.warn({ node: name, error: (error as Error).message }, 'node lifecycle write failed; retried next period');
      }
    }
    const orphans = orphanedPods([...this.#pods.values()], new Set(this.#nodes.keys()), this.#missingSince, nowMs, this.#options.orphanGraceMs ?? ORPHAN_POD_GRACE_MS_DEFAULT);
    for (const pod of orphans) {
      const name = nameOf(pod);
      const namespace = namespaceOf(pod);
      try {
        // Force, as the pod GC does: no kubelet is left to confirm a graceful end.
        await this.#core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { preconditions: { uid: uidOf(pod) } } });
        this.#options.log?.info({ pod: `${namespace}/${name}`, node: stringAt(objectAt(pod, 'spec'), 'nodeName') }, 'pod bound to a missing node garbage-collected');
      } catch (error) {
        this.#options.log?.warn({ pod: `${namespace}/${name}`, error: (error as Error).message }, 'orphaned pod not deleted; retried next period');
      }
    }
  }
}

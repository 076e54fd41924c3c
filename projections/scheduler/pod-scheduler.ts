// The embedded mode's scheduler (a real cluster runs kube-scheduler): it watches Pods and Nodes,
// places each pending pod with placePod, and binds it through pods/binding as kube-scheduler does.
// A pod no node can take gets the PodScheduled=False condition and a FailedScheduling Event with
// kube-scheduler's message, once per distinct message, and is tried again whenever a pod or node
// changes. Only client-node talks to the API.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import type { JsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { applyReflected, reflect, type ReflectorEvent } from '../kube/reflector.js';
import { placePod } from './placement.js';

export interface PodSchedulerOptions {
  readonly kubeConfig: KubeConfig;
  /** Wall-clock time for conditions and Events (RFC 3339); injected so tests can fix it. */
  readonly now: () => Date;
  readonly log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/** kube-scheduler's name: pods naming another scheduler are left to it. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

type Raw = Record<string, unknown>;

/** A pod this scheduler must place: unbound, not being deleted, and for the default scheduler. */
function isPending(pod: Raw): boolean {
  const spec = objectAt(pod, 'spec');
  const nodeName = stringAt(spec, 'nodeName');
  const schedulerName = stringAt(spec, 'schedulerName') ?? DEFAULT_SCHEDULER_NAME;
  return (nodeName === undefined || nodeName === '') && schedulerName === DEFAULT_SCHEDULER_NAME && stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') === undefined;
}

/**
 * ```ts
 * const scheduler = new PodScheduler({ kubeConfig, now: () => new Date(), log });
 * scheduler.start();
 * await scheduler.stop();
 * ```
 */
export class PodScheduler {
  readonly #options: PodSchedulerOptions;
  readonly #core: CoreV1Api;
  readonly #pods = new Map<string, Raw>();
  readonly #nodes = new Map<string, Raw>();
  /** The unschedulable message last recorded per pod uid, so an unchanged verdict is not written again. */
  readonly #verdicts = new Map<string, string>();
  /** Uids of the pods that wait for a node. */
  readonly #pending = new Set<string>();
  readonly #subscriptions: Subscription[] = [];
  #passDue = false;
  #passing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: PodSchedulerOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  start(): void {
    const onError = (error: string): void => this.#options.log?.warn({ error }, 'scheduler watch failed; retrying');
    this.#subscriptions.push(
      reflect(this.#options.kubeConfig, '/api/v1/pods', { onError }).subscribe((event) => this.#changed(this.#pods, event, uidOf)),
      reflect(this.#options.kubeConfig, '/api/v1/nodes', { onError }).subscribe((event) => this.#changed(this.#nodes, event, nameOf)),
    );
  }

  /** Stops watching and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const subscription of this.#subscriptions.splice(0)) subscription.unsubscribe();
    await this.#passing;
  }

  #changed(into: Map<string, Raw>, event: ReflectorEvent, keyOf: (object: Raw) => string): void {
    applyReflected(into, event, keyOf);
    if (event.type === 'DELETED') this.#verdicts.delete(uidOf(event.object));
    if (into === this.#pods) this.#notePending(event);
    // A pass looks at every pod: only worth it while some pod waits for a node.
    if (this.#pending.size > 0) this.#schedulePass();
  }

  /** Keeps the set of pods waiting for a node in step with the pod watch. */
  #notePending(event: ReflectorEvent): void {
    if (event.type === 'listed') {
      this.#pending.clear();
      for (const pod of event.objects) if (isPending(pod)) this.#pending.add(uidOf(pod));
    } else if (event.type === 'DELETED' || !isPending(event.object)) {
      this.#pending.delete(uidOf(event.object));
    } else {
      this.#pending.add(uidOf(event.object));
    }
  }

  /** One pass per burst of changes; a change during a pass asks for another after it. */
  #schedulePass(): void {
    if (this.#passDue || this.#stopped) return;
    this.#passDue = true;
    this.#passing = this.#passing.then(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#passDue = false;
      if (!this.#stopped) await this.#pass();
    });
  }

  async #pass(): Promise<void> {
    const nodes = [...this.#nodes.values()];
    // Bindings made in this pass count at once, so two pods never take the last room of one node.
    const bound = [...this.#pods.values()].filter((pod) => !isPending(pod));
    const pending = [...this.#pods.values()].filter(isPending).sort((a, b) => (stringAt(objectAt(a, 'metadata'), 'creationTimestamp') ?? '').localeCompare(stringAt(objectAt(b, 'metadata'), 'creationTimestamp') ?? ''));
    for (const pod of pending) {
      if (this.#stopped) return;
      const placement = placePod(pod, nodes, bound);
      if (placement.kind === 'bind') {
        if (await this.#bind(pod, placement.node)) bound.push({ ...pod, spec: { ...objectAt(pod, 'spec'), nodeName: placement.node } });
      } else {
        await this.#unschedulable(pod, placement.message);
      }
    }
  }

  async #bind(pod: Raw, node: string): Promise<boolean> {
    const name = nameOf(pod);
    const namespace = namespaceOf(pod);
    try {
      await this.#core.createNamespacedPodBinding({
        name,
        namespace,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid: uidOf(pod) }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
      this.#verdicts.delete(uidOf(pod));
      this.#options.log?.info({ pod: `${namespace}/${name}`, node }, 'pod scheduled');
      await this.#event(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
      return true;
    } catch (error) {
      // A conflict means another binder was first or the pod changed; the watch brings the truth.
      this.#options.log?.warn({ pod: `${namespace}/${name}`, node, error: (error as Error).message }, 'binding failed');
      return false;
    }
  }

  async #unschedulable(pod: Raw, message: string): Promise<void> {
    const uid = uidOf(pod);
    if (this.#verdicts.get(uid) === message) return;
    this.#verdicts.set(uid, message);
    const name = nameOf(pod);
    const namespace = namespaceOf(pod);
    const now = this.#options.now().toISOString();
    const others = arrayAt(objectAt(pod, 'status'), 'conditions').filter((c) => stringAt(c, 'type') !== 'PodScheduled');
    const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: now };
    try {
      await this.#core.patchNamespacedPodStatus(
        { name, namespace, body: { metadata: { uid }, status: { phase: 'Pending', conditions: [...others, condition] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await this.#event(pod, 'Warning', 'FailedScheduling', message);
    } catch (error) {
      this.#verdicts.delete(uid);
      this.#options.log?.warn({ pod: `${namespace}/${name}`, error: (error as Error).message }, 'unschedulable status not written');
    }
  }

  /** An Event on the pod, as kube-scheduler records them (`kubectl describe pod` lists them). */
  async #event(pod: Raw, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = namespaceOf(pod);
    const now = this.#options.now().toISOString();
    const body: JsonObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${nameOf(pod)}.`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: nameOf(pod), namespace, uid: uidOf(pod) },
      type,
      reason,
      message,
      source: { component: DEFAULT_SCHEDULER_NAME },
      reportingComponent: DEFAULT_SCHEDULER_NAME,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.#core.createNamespacedEvent({ namespace, body: body as never });
    } catch (error) {
      // Events are best effort, as in Kubernetes.
      this.#options.log?.warn({ reason, error: (error as Error).message }, 'event not recorded');
    }
  }
}

// KubeEdge's EdgeController, upstream half: the up events an edge reports become Kubernetes writes
// through client-node. Pod status goes to pods/status (only while the pod with that uid exists: a
// status for a deleted or re-created pod is dropped), node status to nodes/status after the Node is
// registered with the edge role label. Each write is idempotent, so an event applied again after a
// cloud crash (PROTOCOL.md, Up) writes the same status again.
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { isJsonObject } from '../../kernel/index.js';
import type { UpEffects, UpEvent } from '../../transport/index.js';
import { NODE_STATUS_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED } from '../reports/edge-reports.js';

/** The label KubeEdge puts on edge nodes, which nodeSelectors for edge workloads use. */
export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';


export interface StatusWriterLog {
  warn(fields: object, message: string): void;
}

const objectField = (data: unknown, key: string): Record<string, unknown> | undefined => {
  if (!isJsonObject(data)) return undefined;
  const value = data[key];
  return isJsonObject(value) ? value : undefined;
};
const stringField = (data: unknown, key: string): string | undefined => {
  if (!isJsonObject(data)) return undefined;
  const value = data[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** Writes of one status that meet a concurrent change before one lands (then the effect fails and is retried). */
const STATUS_WRITE_ATTEMPTS_MAX = 5;

const statusCodeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);

/**
 * The UpEffects of a CloudHub against the Kubernetes API. Event types it does not know are applied
 * as nothing (logged once per type), so a newer edge never stalls an older cloud's up log.
 */
export class EdgeStatusWriter implements UpEffects {
  readonly #core: CoreV1Api;
  readonly #unknownTypes = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly log: StatusWriterLog = { warn: () => undefined },
    /** Whether a node may (re)register its Node: not once it was deleted (decommissioned), DESIGN.md. */
    private readonly mayRegister: (nodeName: string) => boolean = () => true,
  ) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async perform(nodeName: string, _journalId: string, _seq: number, event: UpEvent): Promise<void> {
    switch (event.type) {
      case POD_STATUS_REPORTED:
        return this.#podStatus(nodeName, event);
      case NODE_STATUS_REPORTED:
        return this.#nodeStatus(nodeName, event);
      case POD_TERMINATION_COMPLETED:
        return this.#podTerminated(nodeName, event);
      default:
        if (!this.#unknownTypes.has(event.type)) {
          this.#unknownTypes.add(event.type);
          this.log.warn({ node: nodeName, type: event.type }, 'up event type with no Kubernetes write; applied as nothing');
        }
    }
  }

  async #podStatus(nodeName: string, event: UpEvent): Promise<void> {
    const resource = stringField(event.data, 'resource');
    const uid = stringField(event.data, 'UID');
    const status = objectField(event.data, 'Status');
    const [namespace, , name] = resource?.split('/') ?? [];
    if (namespace === undefined || name === undefined || uid === undefined || status === undefined) {
      this.log.warn({ node: nodeName, resource }, 'pod status report without resource, UID or Status; applied as nothing');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const written = await this.#writePodStatus(namespace, name, uid, status);
      if (written !== 'conflict') return;
      if (attempt >= STATUS_WRITE_ATTEMPTS_MAX) throw new Error(`pod ${namespace}/${name}: status write conflicted ${attempt} times`);
    }
  }

  /**
   * One status write at the pod's current revision, when the pod with that uid still exists.
   * A real API server refuses a patch whose metadata.uid differs (409); the read makes the check
   * explicit for any server, and the resourceVersion precondition covers a re-creation in between.
   */
  async #writePodStatus(namespace: string, name: string, uid: string, status: Record<string, unknown>): Promise<'written' | 'gone' | 'conflict'> {
    try {
      const current = await this.#core.readNamespacedPod({ name, namespace });
      if (current.metadata?.uid !== uid) return 'gone';
      const resourceVersion = current.metadata.resourceVersion;
      await this.#core.patchNamespacedPodStatus(
        { name, namespace, body: { metadata: { uid, resourceVersion }, status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return 'written';
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404) return 'gone';
      if (code === 409) return 'conflict';
      throw error;
    }
  }

  /** The kubelet's final delete: grace 0, only the pod with that uid (a re-created one stays). */
  async #podTerminated(nodeName: string, event: UpEvent): Promise<void> {
    const [namespace, , name] = stringField(event.data, 'resource')?.split('/') ?? [];
    const uid = stringField(event.data, 'UID');
    if (namespace === undefined || name === undefined || uid === undefined) {
      this.log.warn({ node: nodeName }, 'pod termination report without resource or UID; applied as nothing');
      return;
    }
    try {
      await this.#core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404 || code === 409) return;
      throw error;
    }
  }

  async #nodeStatus(nodeName: string, event: UpEvent): Promise<void> {
    const status = objectField(event.data, 'Status') ?? {};
    const labels = objectField(event.data, 'Labels') ?? {};
    if (!this.mayRegister(nodeName)) {
      this.log.warn({ node: nodeName }, 'status of a deleted node; not registering it again');
      return;
    }
    await this.#registered(nodeName, labels);
    await this.#core.patchNodeStatus({ name: nodeName, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  /** Creates the Node with the edge role label unless it exists (KubeEdge registers through `node insert`). */
  async #registered(nodeName: string, labels: Record<string, unknown>): Promise<void> {
    try {
      await this.#core.readNode({ name: nodeName });
      return;
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
    const stringLabels = Object.fromEntries(Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    const body: V1Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels: { ...stringLabels, [EDGE_ROLE_LABEL]: '' } } };
    try {
      await this.#core.createNode({ body });
    } catch (error) {
      // Created meanwhile by another writer: registered all the same.
      if (statusCodeOf(error) !== 409) throw error;
    }
  }
}

// Node heartbeats (KubeEdge: edged's Lease goes up through the websocket): an edge renews its Lease
// in kube-node-lease with a query every quarter of the lease duration, and the cloud writes it.
// Renewals are requests, not up events: DESIGN.md keeps them out of the journal.
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';

/** The namespace of node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** Seconds a Lease stays valid without a renewal (the kubelet's default: 40). */
export const NODE_LEASE_DURATION_SECONDS = 40;

/** What an edge's lease query carries; the cloud stamps the renew time with its own clock. */
export interface LeaseRenewal {
  readonly leaseDurationSeconds: number;
}

const statusCodeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);

/** Renews node `nodeName`'s Lease (creating it at first), holder = the node, as the kubelet does. */
export class NodeLeaseWriter {
  readonly #leases: CoordinationV1Api;

  constructor(
    kc: KubeConfig,
    private readonly nowMs: () => number,
  ) {
    this.#leases = kc.makeApiClient(CoordinationV1Api);
  }

  async renew(nodeName: string, content: JsonValue): Promise<Result<JsonValue, string>> {
    const asked = isJsonObject(content) && typeof content['leaseDurationSeconds'] === 'number' ? content['leaseDurationSeconds'] : NODE_LEASE_DURATION_SECONDS;
    const leaseDurationSeconds = Number.isInteger(asked) && asked >= 10 && asked <= 3600 ? asked : NODE_LEASE_DURATION_SECONDS;
    const renewTime = new Date(this.nowMs());
    try {
      const current = await this.#read(nodeName);
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ...(current?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: current.metadata.resourceVersion }) },
        spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime },
      };
      if (current === undefined) await this.#leases.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body });
      else await this.#leases.replaceNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE, body });
      return ok({ renewTime: renewTime.toISOString(), leaseDurationSeconds });
    } catch (error) {
      // A conflict means another renewal won; the next one, a quarter-duration later, goes through.
      return err(`lease ${NODE_LEASE_NAMESPACE}/${nodeName} not renewed: ${statusCodeOf(error) ?? ''} ${(error as Error).message}`.trim());
    }
  }

  async #read(nodeName: string): Promise<V1Lease | undefined> {
    try {
      return await this.#leases.readNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE });
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}

// Which cloud process serves which edge node, when several run against one API (DESIGN.md,
// Scaling): a Lease per node (kube-system/edgehive-stream.<node>), taken before the hub answers the
// node's hello, renewed while the edge is linked, released when it leaves or the process stops. The
// hub's NodeOwnership port on top of the per-node LeaseHolders, with each node's acquire and release
// run one after another so a release never lands after a new acquire of the same node.
import type { NodeStreamLeases } from '../../projections/index.js';
import type { NodeOwnership } from '../../transport/index.js';

export interface LeaseOwnership extends NodeOwnership {
  /** Gives up every node still held (shutdown), so other processes take them at once. */
  releaseAll(): Promise<void>;
}

/** The hub's ownership port on per-node Leases; `released` hears of each node given up (to drop caches). */
export function leaseOwnership(leases: NodeStreamLeases, released: (nodeName: string) => void = () => undefined): LeaseOwnership {
  const chains = new Map<string, Promise<unknown>>();
  /** Nodes whose holder runs its renewal loop (one per node at a time). */
  const renewing = new Set<string>();
  const inTurn = <T>(nodeName: string, work: () => Promise<T>): Promise<T> => {
    const before = chains.get(nodeName) ?? Promise.resolve();
    const next = before.then(work, work);
    const settled = next.then(() => undefined, () => undefined);
    chains.set(nodeName, settled);
    void settled.then(() => {
      if (chains.get(nodeName) === settled) chains.delete(nodeName);
    });
    return next;
  };
  return {
    acquire: (nodeName) =>
      inTurn(nodeName, async () => {
        const holder = leases.holderFor(nodeName);
        if (holder.holding) return { owned: true as const };
        const outcome = await holder.tryAcquire();
        if (outcome.acquired) return { owned: true as const };
        return { owned: false as const, holder: outcome.reason === 'held' ? outcome.holder : `unknown: ${outcome.error.message}` };
      }),
    hold: (nodeName, lost) => {
      const holder = leases.holderFor(nodeName);
      if (renewing.has(nodeName) || !holder.holding) return;
      renewing.add(nodeName);
      holder.hold(() => {
        renewing.delete(nodeName);
        lost();
      });
    },
    release: (nodeName, stillFree) =>
      inTurn(nodeName, async () => {
        // An acquire asked for before this release ran first: a new hello may hold the node now.
        if (!stillFree()) return;
        renewing.delete(nodeName);
        await leases.holderFor(nodeName).release();
        released(nodeName);
      }),
    releaseAll: async () => {
      renewing.clear();
      await leases.releaseAll();
    },
  };
}

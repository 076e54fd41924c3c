// The stand-in for the API server and the projections: per node, a few named objects that get new
// revisions (spec or status-only), deletions and re-creations under a new uid; and cluster resets,
// where the data is replaced (new uids, or the same uids restored with lower resourceVersions).
import type { DesiredObject, DesiredSet, ObjectKey, Uid } from '../transport/sync/index.js';

export type DesireOp = 'put' | 'touch' | 'delete' | 'recreate';

export interface ClusterObject {
  readonly uid: Uid;
  readonly node: string;
  readonly key: ObjectKey;
  readonly rv: number;
  /** Bumped by spec changes: the desired content is (key, generation). */
  readonly generation: number;
}

export const contentOf = (object: { readonly key: ObjectKey; readonly generation: number }) => ({ key: object.key, generation: object.generation });
export const hashOf = (object: { readonly key: ObjectKey; readonly generation: number }): string => `h:${object.key}#${object.generation}`;

/** Object keys live in a namespace per node, so no two nodes ever desire the same object. */
export const objectKey = (node: string, name: number): ObjectKey => `configmaps/${node}/obj-${name}`;

export class SimulatedCluster {
  /** Incremented by every reset; part of every uid and clusterId. */
  serial = 1;
  clusterId = 'cluster-1';
  #rv = 100;
  #uids = 0;
  readonly objects = new Map<Uid, ClusterObject>();
  /** Every uid any node ever desired, per node: what that edge may ever receive (invariant 5). */
  readonly everDesired = new Map<string, Set<Uid>>();

  constructor(readonly nodes: readonly string[]) {
    for (const node of nodes) this.everDesired.set(node, new Set());
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Applies one change to the object `name` of `node`. */
  desire(node: string, name: number, op: DesireOp): void {
    const key = objectKey(node, name);
    const current = [...this.objects.values()].find((o) => o.key === key);
    if (op === 'delete' || op === 'recreate') {
      if (current !== undefined) {
        this.objects.delete(current.uid);
        this.#rv += 1;
      }
      if (op === 'delete') return;
      return this.#create(node, key);
    }
    if (current === undefined) return this.#create(node, key);
    this.#rv += 1;
    this.objects.set(current.uid, { ...current, rv: this.#rv, generation: op === 'put' ? current.generation + 1 : current.generation });
  }

  /** The node's desired set as the planner sees it. */
  desiredSet(node: string): DesiredSet {
    const objects = new Map<Uid, DesiredObject>();
    for (const o of this.objects.values()) {
      if (o.node !== node) continue;
      objects.set(o.uid, { uid: o.uid, key: o.key, resourceVersion: String(o.rv), contentHash: hashOf(o), content: contentOf(o) });
    }
    return { objects, resourceVersion: String(this.#rv) };
  }

  /**
   * The API server's data is replaced. `sameUids`: restored from a backup, the same objects with
   * resourceVersions lower than before; otherwise every object is created anew under a new uid.
   * Objects whose position is a bit of `lostMask` did not make it into the new data.
   */
  reset(sameUids: boolean, lostMask: number): void {
    this.serial += 1;
    this.clusterId = `cluster-${this.serial}`;
    const before = [...this.objects.values()];
    this.objects.clear();
    this.#rv = 10;
    for (const [i, o] of before.entries()) {
      if ((lostMask >> i) & 1) continue;
      this.#rv += 1;
      const uid = sameUids ? o.uid : this.#mintUid();
      this.objects.set(uid, { ...o, uid, rv: this.#rv });
      this.everDesired.get(o.node)!.add(uid);
    }
  }

  #create(node: string, key: ObjectKey): void {
    this.#rv += 1;
    const uid = this.#mintUid();
    this.objects.set(uid, { uid, node, key, rv: this.#rv, generation: 1 });
    this.everDesired.get(node)!.add(uid);
  }

  #mintUid(): Uid {
    this.#uids += 1;
    return `c${this.serial}-u${this.#uids}`;
  }
}

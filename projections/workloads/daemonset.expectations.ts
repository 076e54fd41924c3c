// The DaemonSet controller's memory between passes, as client-go's controllers keep it: how many of
// its own pod creates and which of its deletes the watch has not shown yet (so a pass on a stale
// view does not create a second pod for a node), and the back-off for nodes whose daemon pod keeps
// failing (so a crashing pod is not deleted and re-created in a hot loop). Time comes in as
// monotonic milliseconds.

/** Writes not seen after this long are forgotten (upstream's ExpectationsTimeout): a lost watch event never stalls a DaemonSet. */
export const EXPECTATIONS_TTL_MS = 5 * 60_000;
/** Back-off after a failed daemon pod is deleted: 1 s, doubling to 15 min, as upstream. */
export const FAILED_POD_BACKOFF_MS_MIN = 1_000;
export const FAILED_POD_BACKOFF_MS_MAX = 15 * 60_000;
/** (DaemonSet, node) pairs whose back-off is remembered; past this the stalest is forgotten. */
const BACKOFF_ENTRIES_MAX = 10_000;

interface Pending {
  /** Uids of pods created and not seen yet. */
  readonly creates: Set<string>;
  /** Uids of pods deleted and not yet seen going. */
  readonly deletes: Set<string>;
  readonly sinceMs: number;
}

/**
 * ```ts
 * expectations.expect(dsUid, nowMs);             // before a round of writes
 * expectations.created(dsUid, pod.metadata.uid); // after each create the API accepted
 * expectations.observe(pod, false);               // on every watch event of a pod
 * expectations.satisfied(dsUid, podsOfDs, nowMs); // true once every write is seen
 * ```
 */
export class PodExpectations {
  readonly #byOwner = new Map<string, Pending>();

  /** Starts a round of writes for `owner` (what an earlier round still waits for is kept). */
  expect(owner: string, nowMs: number): void {
    const earlier = this.#byOwner.get(owner);
    this.#byOwner.set(owner, { creates: new Set(earlier?.creates), deletes: new Set(earlier?.deletes), sinceMs: nowMs });
  }

  /** The API accepted a create: the pod must show up in the view before the owner acts again. */
  created(owner: string, podUid: string): void {
    this.#byOwner.get(owner)?.creates.add(podUid);
  }

  /** The API accepted a delete: the pod must show up terminating or gone. */
  deleted(owner: string, podUid: string): void {
    this.#byOwner.get(owner)?.deletes.add(podUid);
  }

  /** A watch event of a pod: any sight settles its create; a deletion or deletionTimestamp settles its delete. */
  observe(owner: string, podUid: string, going: boolean): void {
    const pending = this.#byOwner.get(owner);
    if (pending === undefined) return;
    pending.creates.delete(podUid);
    if (going) pending.deletes.delete(podUid);
  }

  /**
   * Whether every write for `owner` has been seen, judged also against the owner's pods in view
   * (`present`: uid → whether it is terminating), or is too old to wait for.
   */
  satisfied(owner: string, present: ReadonlyMap<string, boolean>, nowMs: number): boolean {
    const pending = this.#byOwner.get(owner);
    if (pending === undefined) return true;
    for (const uid of pending.creates) if (present.has(uid)) pending.creates.delete(uid);
    for (const uid of pending.deletes) if (present.get(uid) !== false) pending.deletes.delete(uid);
    if ((pending.creates.size === 0 && pending.deletes.size === 0) || nowMs - pending.sinceMs > EXPECTATIONS_TTL_MS) {
      this.#byOwner.delete(owner);
      return true;
    }
    return false;
  }

  forget(owner: string): void {
    this.#byOwner.delete(owner);
  }
}

interface Backoff {
  delayMs: number;
  lastMs: number;
}

/** Upstream's failedPodsBackoff: per (DaemonSet, node), a delay that doubles with each failed pod deleted. */
export class FailedPodBackoff {
  readonly #entries = new Map<string, Backoff>();

  /** Records a failed pod deleted now on `node`; the next one there waits the returned delay. */
  next(owner: string, node: string, nowMs: number): number {
    const key = `${owner}/${node}`;
    const entry = this.#entries.get(key);
    // A node quiet for twice the longest delay starts over, as flowcontrol.Backoff does.
    const fresh = entry === undefined || nowMs - entry.lastMs > 2 * FAILED_POD_BACKOFF_MS_MAX;
    const delayMs = fresh ? FAILED_POD_BACKOFF_MS_MIN : Math.min(FAILED_POD_BACKOFF_MS_MAX, entry.delayMs * 2);
    this.#entries.delete(key);
    this.#entries.set(key, { delayMs, lastMs: nowMs });
    if (this.#entries.size > BACKOFF_ENTRIES_MAX) {
      const stalest = this.#entries.keys().next();
      if (stalest.done !== true) this.#entries.delete(stalest.value);
    }
    return delayMs;
  }

  /** Nodes of `owner` still in back-off at `nowMs`, and when the first of them ends (ms from now). */
  inBackoff(owner: string, nowMs: number): { readonly nodes: ReadonlySet<string>; readonly endsInMs: number | undefined } {
    const nodes = new Set<string>();
    let endsInMs: number | undefined;
    const prefix = `${owner}/`;
    for (const [key, entry] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      const left = entry.lastMs + entry.delayMs - nowMs;
      if (left <= 0) continue;
      nodes.add(key.slice(prefix.length));
      endsInMs = Math.min(endsInMs ?? left, left);
    }
    return { nodes, endsInMs };
  }

  forget(owner: string): void {
    for (const key of [...this.#entries.keys()]) if (key.startsWith(`${owner}/`)) this.#entries.delete(key);
  }
}

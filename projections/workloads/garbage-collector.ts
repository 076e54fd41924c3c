// The embedded mode's garbage collector (a real cluster runs kube-controller-manager's): it watches
// every resource discovery lists (events aside, as upstream ignores them) and keeps a graph of uids
// and ownerReferences. A dependent with an owner missing from the graph is a suspect; the owner is
// then verified with a live GET (the watch view may lag), and counts as gone when the GET is 404 or
// finds another uid under that name. A dependent whose owners are all gone is deleted with a uid
// precondition; one with some owners alive loses the dangling references. The API server still
// cascades a DELETE at once (background propagation); this catches what that misses: a dependent
// created after its owner was deleted (a controller racing `kubectl delete`) or created dangling.
// Foreground deletion is done here: the dependents of an owner carrying `foregroundDeletion` are
// deleted, and the finalizer is removed once no dependent with blockOwnerDeletion is left.
import { ApiException, KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { uidOf } from '../kube/json-fields.js';
import { PassLoop } from '../kube/pass-loop.js';
import { rawGet } from '../kube/raw-api.js';
import { reflect, type ReflectorEvent } from '../kube/reflector.js';
import { finalizersOnceUnblocked, graphNodeOf, judgeDependent, ownerVerdictOf, suspectsOf, type DependentAction, type GraphNode, type OwnerInGraph, type OwnerReference, type OwnerVerdict } from './garbage-collector.plan.js';
import { apiVersionOfResource, collectionPath, discoverResources, objectPath, serves, type ServedResource } from './namespace-controller.discovery.js';

export interface GarbageCollectorOptions {
  readonly kubeConfig: KubeConfig;
  /** How often resources are discovered again (new CRDs watched) and every dependent judged again. */
  readonly resyncPeriodMs?: number;
  readonly log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/** Upstream's GC resyncs discovery every 30 s. */
const RESYNC_PERIOD_MS_DEFAULT = 30_000;
/** Live owner GETs per pass; the rest wait for the next pass, which is requested at once. */
const OWNER_CHECKS_PER_PASS_MAX = 500;
/** Owners verified alive but absent from the graph, remembered until the next resync or deletion. */
const ALIVE_OWNERS_REMEMBERED_MAX = 10_000;
/** Resources never watched, as upstream's GC ignores them (`group/plural`). */
const IGNORED_RESOURCES = new Set(['/events', 'events.k8s.io/events']);

const statusOf = (error: unknown): number => (error instanceof ApiException ? error.code : 0);
const resourceKey = (r: Pick<ServedResource, 'group' | 'plural'>): string => `${r.group}/${r.plural}`;
const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

interface Watched {
  readonly resource: ServedResource;
  readonly subscription: Subscription;
  readonly nodes: Map<string, GraphNode>;
}

/**
 * ```ts
 * const gc = new GarbageCollector({ kubeConfig, log });
 * gc.start();
 * await gc.stop();
 * ```
 */
export class GarbageCollector {
  readonly #options: GarbageCollectorOptions;
  readonly #objects: KubernetesObjectApi;
  readonly #watched = new Map<string, Watched>();
  /** `group/Kind` → resource, for owners (by group and kind: storage is version-free). */
  #byKind = new Map<string, ServedResource>();
  readonly #aliveOwners = new Set<string>();
  readonly #loop: PassLoop;
  #timer: NodeJS.Timeout | undefined;
  #resyncing: Promise<void> = Promise.resolve();

  constructor(options: GarbageCollectorOptions) {
    this.#options = options;
    this.#objects = KubernetesObjectApi.makeApiClient(options.kubeConfig);
    this.#loop = new PassLoop(
      () => this.#pass(),
      (error) => this.#options.log?.warn({ error: error.message }, 'garbage collector pass failed'),
    );
  }

  start(): void {
    void this.resync();
    this.#timer = setInterval(() => void this.resync(), this.#options.resyncPeriodMs ?? RESYNC_PERIOD_MS_DEFAULT);
    this.#timer.unref();
  }

  /** Stops watching and waits for the pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#resyncing;
    for (const watched of this.#watched.values()) watched.subscription.unsubscribe();
    this.#watched.clear();
    await this.#loop.stop();
  }

  /** Discovers resources again (watching new ones, dropping vanished ones), then judges every dependent (the timer calls it; tests too). */
  resync(): Promise<void> {
    this.#resyncing = this.#resyncing.then(async () => {
      if (this.#loop.stopped) return;
      const discovery = await discoverResources(this.#options.kubeConfig);
      if (discovery.failures.length > 0) this.#options.log?.warn({ failures: discovery.failures }, 'garbage collector discovery incomplete');
      if (this.#loop.stopped) return;
      this.#byKind = new Map(discovery.resources.map((r) => [`${r.group}/${r.kind}`, r]));
      const wanted = discovery.resources.filter((r) => serves(r, 'list', 'watch', 'delete') && !IGNORED_RESOURCES.has(resourceKey(r)));
      // A resource missing from an incomplete discovery keeps its watch: its group may only have failed this time.
      if (discovery.failures.length === 0) {
        for (const [key, watched] of this.#watched) {
          if (wanted.some((r) => resourceKey(r) === key)) continue;
          watched.subscription.unsubscribe();
          this.#watched.delete(key);
        }
      }
      for (const resource of wanted) if (!this.#watched.has(resourceKey(resource))) this.#watch(resource);
      this.#aliveOwners.clear();
      void this.#loop.request();
    });
    return this.#resyncing;
  }

  /** Runs a pass now and waits for it (tests). */
  collect(): Promise<void> {
    return this.#loop.request();
  }

  #watch(resource: ServedResource): void {
    const nodes = new Map<string, GraphNode>();
    const onError = (error: string): void => this.#options.log?.warn({ error }, 'garbage collector watch failed; retrying');
    const subscription = reflect(this.#options.kubeConfig, collectionPath(resource), { onError }).subscribe((event) => {
      this.#observe(resource, nodes, event);
      void this.#loop.request();
    });
    this.#watched.set(resourceKey(resource), { resource, subscription, nodes });
  }

  #observe(resource: ServedResource, nodes: Map<string, GraphNode>, event: ReflectorEvent): void {
    const shape = { apiVersion: apiVersionOfResource(resource), kind: resource.kind, namespaced: resource.namespaced };
    if (event.type === 'listed') {
      nodes.clear();
      for (const object of event.objects) {
        const node = graphNodeOf(object, shape);
        if (node !== undefined) nodes.set(node.uid, node);
      }
      return;
    }
    if (event.type === 'DELETED') {
      nodes.delete(uidOf(event.object));
      // An owner verified alive may be this one: verify again.
      this.#aliveOwners.clear();
      return;
    }
    const node = graphNodeOf(event.object, shape);
    if (node !== undefined) nodes.set(node.uid, node);
  }

  async #pass(): Promise<void> {
    const byUid = new Map<string, GraphNode>();
    const dependentsOf = new Map<string, GraphNode[]>();
    for (const watched of this.#watched.values()) {
      for (const node of watched.nodes.values()) {
        byUid.set(node.uid, node);
        for (const owner of node.owners) {
          const dependents = dependentsOf.get(owner.uid);
          if (dependents === undefined) dependentsOf.set(owner.uid, [node]);
          else dependents.push(node);
        }
      }
    }
    const ownerInGraph = (uid: string): OwnerInGraph => {
      const owner = byUid.get(uid);
      return owner === undefined ? 'absent' : owner.deletingDependents ? 'deletingDependents' : 'present';
    };
    if (!(await this.#judgeSuspects(suspectsOf(byUid.values(), ownerInGraph), ownerInGraph, dependentsOf))) return;
    for (const owner of byUid.values()) {
      const finalizers = finalizersOnceUnblocked(owner, dependentsOf.get(owner.uid) ?? []);
      if (finalizers !== undefined && !this.#loop.stopped) await this.#execute(owner, { kind: 'unblock', finalizers });
    }
  }

  /** Verifies each suspect's absent owners and acts on the verdicts; false when the pass was cut short (another is requested). */
  async #judgeSuspects(suspects: readonly GraphNode[], ownerInGraph: (uid: string) => OwnerInGraph, dependentsOf: ReadonlyMap<string, readonly GraphNode[]>): Promise<boolean> {
    const verdicts = new Map<string, OwnerVerdict>();
    const keyOf = (owner: OwnerReference, node: GraphNode): string => `${owner.uid}|${node.namespace ?? ''}`;
    const verdictOf = (owner: OwnerReference, node: GraphNode): OwnerVerdict => {
      const state = ownerInGraph(owner.uid);
      if (state !== 'absent') return state === 'present' ? 'alive' : 'waiting';
      return verdicts.get(keyOf(owner, node)) ?? 'unknown';
    };
    let checks = 0;
    for (const node of suspects) {
      if (this.#loop.stopped) return false;
      for (const owner of node.owners) {
        if (ownerInGraph(owner.uid) !== 'absent' || verdicts.has(keyOf(owner, node))) continue;
        if (checks >= OWNER_CHECKS_PER_PASS_MAX) {
          void this.#loop.request();
          return false;
        }
        checks += 1;
        verdicts.set(keyOf(owner, node), await this.#verifyOwner(owner, node.namespace));
      }
      await this.#execute(node, judgeDependent(node, (owner) => verdictOf(owner, node), (dependentsOf.get(node.uid) ?? []).length > 0));
    }
    return true;
  }

  /** A live GET of the owner: by its group and kind, in the dependent's namespace when the owner is namespaced. */
  async #verifyOwner(owner: OwnerReference, namespace: string | undefined): Promise<OwnerVerdict> {
    const key = `${owner.uid}|${namespace ?? ''}`;
    if (this.#aliveOwners.has(key)) return 'alive';
    const resource = this.#byKind.get(`${groupOf(owner.apiVersion)}/${owner.kind}`);
    // An owner kind not served, or a namespaced owner of a cluster-scoped object, cannot be resolved: kept, as upstream does.
    if (resource === undefined || (resource.namespaced && namespace === undefined)) return 'unknown';
    const answer = await rawGet(this.#options.kubeConfig, objectPath(resource, namespace, owner.name));
    const verdict = ownerVerdictOf(answer.ok ? { found: answer.value } : { status: answer.error.status }, owner);
    if (verdict === 'alive' && this.#aliveOwners.size < ALIVE_OWNERS_REMEMBERED_MAX) this.#aliveOwners.add(key);
    return verdict;
  }

  async #execute(node: GraphNode, action: DependentAction | { readonly kind: 'unblock'; readonly finalizers: readonly string[] }): Promise<void> {
    const what = `${node.kind} ${node.namespace === undefined ? '' : `${node.namespace}/`}${node.name}`;
    const spec = { apiVersion: node.apiVersion, kind: node.kind, metadata: { name: node.name, ...(node.namespace === undefined ? {} : { namespace: node.namespace }) } };
    try {
      if (action.kind === 'delete') {
        await this.#objects.delete(spec, undefined, undefined, undefined, undefined, action.propagation, { preconditions: { uid: node.uid } });
        this.#options.log?.info({ object: what, propagation: action.propagation }, 'garbage-collected: no owner is left alive');
      } else if (action.kind === 'unblock') {
        // Its last blocking dependent is gone: without the finalizer the API server removes it.
        await this.#objects.patch({ ...spec, metadata: { ...spec.metadata, resourceVersion: node.resourceVersion, finalizers: [...action.finalizers] } }, undefined, undefined, 'garbage-collector', undefined, PatchStrategy.MergePatch);
        this.#options.log?.info({ object: what }, 'foreground deletion done: dependents gone');
      } else if (action.kind === 'dropOwners') {
        // The resourceVersion makes the patch a precondition: a dependent changed meanwhile is judged again.
        const body = { ...spec, metadata: { ...spec.metadata, resourceVersion: node.resourceVersion, ownerReferences: action.owners.map((o) => ({ ...o })) } };
        await this.#objects.patch(body, undefined, undefined, 'garbage-collector', undefined, PatchStrategy.MergePatch);
        this.#options.log?.info({ object: what }, 'dangling owner references removed');
      }
    } catch (error) {
      // Gone already, replaced (another uid), or changed meanwhile: the watch brings the truth.
      if (statusOf(error) === 404 || statusOf(error) === 409) return;
      this.#options.log?.warn({ object: what, error: (error as Error).message }, 'garbage collection failed; retried on the next pass');
    }
  }
}

// The embedded mode's namespace controller (a real cluster runs kube-controller-manager's): it
// watches Namespaces, and for each one being deleted that still carries the `kubernetes` finalizer it
// discovers every namespaced resource, deletes the namespace's content (pods on a node go gracefully,
// as every pod delete does: their node stops them and deletes them with grace 0), shows what is left
// in the namespace's deletion conditions, and once nothing is left removes its finalizer through
// namespaces/{name}/finalize, after which the API server removes the namespace.
import { ApiException, CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { err, ok, type Result } from '../../kernel/index.js';
import { nameOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { PassLoop } from '../kube/pass-loop.js';
import { rawGet, rawListPage } from '../kube/raw-api.js';
import { applyReflected, reflect } from '../kube/reflector.js';
import { apiVersionOfResource, collectionPath, discoverResources, serves, type Discovery, type ServedResource } from './namespace-controller.discovery.js';
import { awaitsContentRemoval, conditionsAfter, conditionsOf, failingConditions, finalizersAfterRemoval, isContentGone, objectsToDelete, type Sweep } from './namespace-controller.plan.js';

export interface NamespaceControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** Wall time for the conditions' transition times. */
  readonly now: () => Date;
  /** How soon a namespace whose content remains (pods terminating on their nodes) is swept again. */
  readonly recheckDelayMs?: number;
  readonly log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

type Raw = Record<string, unknown>;

const RECHECK_DELAY_MS_DEFAULT = 2_000;
/** List pages read per resource per sweep (500 objects a page); what is past them is swept next time. */
const LIST_PAGES_MAX = 200;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a failed client-node call (0 when none arrived). */
const statusOf = (error: unknown): number => (error instanceof ApiException ? error.code : 0);

/**
 * ```ts
 * const namespaces = new NamespaceController({ kubeConfig, now: () => new Date(), log });
 * namespaces.start();
 * await namespaces.stop();
 * ```
 */
export class NamespaceController {
  readonly #options: NamespaceControllerOptions;
  readonly #core: CoreV1Api;
  readonly #objects: KubernetesObjectApi;
  readonly #namespaces = new Map<string, Raw>();
  readonly #loop: PassLoop;
  #subscription: Subscription | undefined;
  #recheck: NodeJS.Timeout | undefined;

  constructor(options: NamespaceControllerOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#objects = KubernetesObjectApi.makeApiClient(options.kubeConfig);
    this.#loop = new PassLoop(
      () => this.#pass(),
      (error) => this.#options.log?.warn({ error: error.message }, 'namespace controller pass failed'),
    );
  }

  start(): void {
    const onError = (error: string): void => this.#options.log?.warn({ error }, 'namespace watch failed; retrying');
    this.#subscription = reflect(this.#options.kubeConfig, '/api/v1/namespaces', { onError }).subscribe((event) => {
      applyReflected(this.#namespaces, event, nameOf);
      void this.#loop.request();
    });
  }

  /** Stops watching and rechecking, and waits for the pass in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.#recheck);
    this.#subscription?.unsubscribe();
    await this.#loop.stop();
  }

  /** Sweeps every Terminating namespace now (watch events and the recheck timer call it; tests too). */
  sweep(): Promise<void> {
    return this.#loop.request();
  }

  async #pass(): Promise<void> {
    const terminating = [...this.#namespaces.values()].filter(awaitsContentRemoval);
    if (terminating.length === 0) return;
    const discovery = await discoverResources(this.#options.kubeConfig);
    let pending = false;
    for (const namespace of terminating) {
      if (this.#loop.stopped) return;
      if (!(await this.#sweepNamespace(namespace, discovery))) pending = true;
    }
    if (pending) this.#scheduleRecheck();
  }

  #scheduleRecheck(): void {
    clearTimeout(this.#recheck);
    this.#recheck = setTimeout(() => void this.#loop.request(), this.#options.recheckDelayMs ?? RECHECK_DELAY_MS_DEFAULT);
    this.#recheck.unref();
  }

  /** One sweep of one namespace; true once its finalizer is removed (or it is gone). */
  async #sweepNamespace(namespace: Raw, discovery: Discovery): Promise<boolean> {
    const name = nameOf(namespace);
    const sweep = await this.#removeContent(name, discovery);
    await this.#writeConditions(namespace, sweep);
    if (!isContentGone(sweep)) return false;
    return this.#finalize(name);
  }

  async #removeContent(namespace: string, discovery: Discovery): Promise<Sweep> {
    const deleteFailures: string[] = [];
    const remaining: { group: string; plural: string; objects: readonly unknown[] }[] = [];
    for (const resource of discovery.resources.filter((r) => r.namespaced && serves(r, 'list', 'delete'))) {
      const listed = await this.#list(resource, namespace);
      if (!listed.ok) {
        deleteFailures.push(`${resource.plural}.${resource.group}: ${listed.error}`);
        continue;
      }
      if (listed.value.length === 0) continue;
      for (const object of objectsToDelete(listed.value)) {
        const failure = await this.#delete(resource, namespace, object);
        if (failure !== undefined) deleteFailures.push(failure);
      }
      const after = await this.#list(resource, namespace);
      if (after.ok) remaining.push({ group: resource.group, plural: resource.plural, objects: after.value });
      else deleteFailures.push(`${resource.plural}.${resource.group}: ${after.error}`);
    }
    return { discoveryFailures: discovery.failures, deleteFailures, remaining };
  }

  async #list(resource: ServedResource, namespace: string): Promise<Result<readonly unknown[], string>> {
    const objects: unknown[] = [];
    let token: string | null = null;
    for (let page = 0; page < LIST_PAGES_MAX; page++) {
      const listed = await rawListPage(this.#options.kubeConfig, collectionPath(resource, namespace), token);
      if (!listed.ok) return err(listed.error.message);
      objects.push(...listed.value.items);
      token = listed.value.continueToken;
      if (token === null) break;
    }
    return ok(objects);
  }

  /** Deletes one object (uid precondition, background propagation); a failure message, or undefined. */
  async #delete(resource: ServedResource, namespace: string, object: unknown): Promise<string | undefined> {
    const name = nameOf(object);
    try {
      await this.#objects.delete({ apiVersion: apiVersionOfResource(resource), kind: resource.kind, metadata: { name, namespace } }, undefined, undefined, undefined, undefined, 'Background', { preconditions: { uid: uidOf(object) } });
      return undefined;
    } catch (error) {
      // Gone already, or replaced by a new object (another uid) that the next sweep sees.
      if (statusOf(error) === 404 || statusOf(error) === 409) return undefined;
      return `${resource.plural}.${resource.group} "${name}": ${(error as Error).message}`;
    }
  }

  async #writeConditions(namespace: Raw, sweep: Sweep): Promise<void> {
    const next = conditionsAfter(conditionsOf(namespace), failingConditions(sweep), this.#options.now().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    if (!next.changed) return;
    const name = nameOf(namespace);
    try {
      await this.#core.patchNamespaceStatus({ name, body: { status: { conditions: next.conditions } } }, mergePatch);
    } catch (error) {
      this.#options.log?.warn({ namespace: name, error: (error as Error).message }, 'namespace conditions not written; retried next sweep');
    }
  }

  /** Removes the `kubernetes` finalizer from the namespace as it is now; true when done or nothing is left to do. */
  async #finalize(name: string): Promise<boolean> {
    const current = await rawGet(this.#options.kubeConfig, `/api/v1/namespaces/${encodeURIComponent(name)}`);
    if (!current.ok) return current.error.status === 404;
    if (!awaitsContentRemoval(current.value)) return true;
    const resourceVersion = stringAt(objectAt(current.value, 'metadata'), 'resourceVersion');
    try {
      await this.#core.replaceNamespaceFinalize({ name, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, spec: { finalizers: [...finalizersAfterRemoval(current.value)] } } });
      this.#options.log?.info({ namespace: name }, 'namespace emptied: kubernetes finalizer removed');
      return true;
    } catch (error) {
      // A conflict (the namespace changed meanwhile) is retried on the next sweep.
      this.#options.log?.warn({ namespace: name, error: (error as Error).message }, 'namespace not finalized; retried next sweep');
      return statusOf(error) === 404;
    }
  }
}

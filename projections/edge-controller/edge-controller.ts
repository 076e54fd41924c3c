// KubeEdge's EdgeController, downstream half (with the DeviceController's): reflectors on Pods,
// ConfigMaps, Secrets, Services, Endpoints, Nodes, Devices and DeviceModels feed the ClusterView, and every change tells the CloudHub which nodes' desired sets moved. The hub
// asks for a node's desired set when it plans (level-based, PROTOCOL.md Down), so nothing here
// queues messages. Start it, wait for `synced`, and only then let edges in: before every resource
// is listed a desired set would be missing objects, and the hub would tombstone them at the edge.
import type { KubeConfig } from '@kubernetes/client-node';
import { Subscription, merge, map } from 'rxjs';
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import type { DesiredSet, DesiredSetSource } from '../../transport/index.js';
import { reflect, type ReflectorOptions } from '../kube/reflector.js';
import { reflectCrdResource } from '../device-controller/crd-resource.reflector.js';
import { ClusterView, type ViewedKind } from './cluster-view.js';

/** The API paths the view follows, cluster-wide (also what `edgehive status` lists to recompute desired sets). */
export const VIEWED_PATHS: Readonly<Record<ViewedKind, string>> = {
  pod: '/api/v1/pods',
  configmap: '/api/v1/configmaps',
  secret: '/api/v1/secrets',
  service: '/api/v1/services',
  endpoints: '/api/v1/endpoints',
  node: '/api/v1/nodes',
  device: '/apis/devices.kubeedge.io/v1beta1/devices',
  devicemodel: '/apis/devices.kubeedge.io/v1beta1/devicemodels',
};

/**
 * Resources of CRDs a real cluster may lack: a 404 there counts as listed and empty (logged once
 * through `reflector.onError`) and is probed again with back-off, so `synced` does not wait forever.
 */
const OPTIONAL_KINDS: ReadonlySet<ViewedKind> = new Set(['device', 'devicemodel']);

export interface EdgeControllerOptions {
  /** A node's desired set may have changed (called once per node per turn of the event loop). */
  readonly desiredChanged: (nodeName: string) => void;
  /** A Node was deleted in the API (DESIGN.md: its edge is decommissioned) or created again. */
  readonly nodeDeleted?: (nodeName: string) => void;
  readonly nodeCreated?: (nodeName: string) => void;
  readonly reflector?: ReflectorOptions;
}

/**
 * The desired-set source and authorization view of a CloudHub, kept current from the API.
 * @example
 * const controller = new EdgeController(kc, { desiredChanged: (node) => hub.desiredChanged(node) });
 * await controller.synced(); // then start the stream server with desired: controller, authorization: controller.view
 */
export class EdgeController implements DesiredSetSource {
  readonly view = new ClusterView();
  readonly #subscription: Subscription;
  readonly #listed = new Set<ViewedKind>();
  readonly #waiting: Array<() => void> = [];
  readonly #pendingNodes = new Set<string>();
  #flushScheduled = false;

  constructor(
    kc: KubeConfig,
    private readonly options: EdgeControllerOptions,
  ) {
    const kinds = Object.keys(VIEWED_PATHS) as ViewedKind[];
    const reflectKind = (kind: ViewedKind) => (OPTIONAL_KINDS.has(kind) ? reflectCrdResource : reflect)(kc, VIEWED_PATHS[kind], options.reflector);
    const events = merge(...kinds.map((kind) => reflectKind(kind).pipe(map((event) => ({ kind, event })))));
    this.#subscription = events.subscribe(({ kind, event }) => {
      for (const node of this.view.apply(kind, event)) this.#pendingNodes.add(node);
      if (kind === 'node' && (event.type === 'DELETED' || event.type === 'ADDED')) this.#nodeLifecycle(event.type, event.object);
      if (event.type === 'listed' && !this.#listed.has(kind)) {
        this.#listed.add(kind);
        if (this.#listed.size === kinds.length) for (const resolve of this.#waiting.splice(0)) resolve();
      }
      this.#scheduleFlush();
    });
  }

  /** Resolves once every followed resource has been listed once. */
  synced(): Promise<void> {
    if (this.#listed.size === Object.keys(VIEWED_PATHS).length) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  desiredSet(nodeName: string): DesiredSet {
    return this.view.desiredSet(nodeName);
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }

  #nodeLifecycle(type: 'ADDED' | 'DELETED', node: JsonObject): void {
    const metadata = node['metadata'];
    const name = isJsonObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
    if (name === undefined) return;
    if (type === 'DELETED') this.options.nodeDeleted?.(name);
    else this.options.nodeCreated?.(name);
  }

  /** Changes arriving together (a list of a thousand pods) tell each node once. */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const nodes = [...this.#pendingNodes];
      this.#pendingNodes.clear();
      for (const node of nodes) this.options.desiredChanged(node);
    });
  }
}

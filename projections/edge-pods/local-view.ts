// The edge's local view (KubeEdge's MetaManager read model): the desired objects the edge holds,
// by key, rebuilt from its journal at start and kept current from the stream's desired changes.
// It answers the pod supervisor's lookups (ConfigMaps, Secrets, its Pods) while the cloud is away.
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import type { DesiredChange } from '../../transport/index.js';
import type { HeldObjects } from './container-launch.js';

/** An object as the edge holds it: its key (`pods/<ns>/<name>`) and desired content. */
export interface HeldEntry {
  readonly key: string;
  readonly content: unknown;
}

/** Objects the view holds at most; the stream bounds a node's desired set the same way. */
const HELD_OBJECTS_MAX = 50_000;

export class LocalView implements HeldObjects {
  readonly #objects = new Map<string, JsonObject>();

  constructor(initial: readonly HeldEntry[] = []) {
    for (const entry of initial) this.#put(entry.key, entry.content);
  }

  /**
   * Applies the changes of one desired commit; returns whether the pods need a look: a Pod changed,
   * or a ConfigMap or Secret they may mount or read.
   */
  apply(changes: readonly DesiredChange[]): boolean {
    return this.applyChanges(changes).pods;
  }

  /** Applies the changes of one desired commit; says whether the pods and whether the devices need a look. */
  applyChanges(changes: readonly DesiredChange[]): { readonly pods: boolean; readonly devices: boolean } {
    let pods = false;
    let devices = false;
    for (const change of changes) {
      if (change.key.startsWith('pods/') || change.key.startsWith('configmaps/') || change.key.startsWith('secrets/')) pods = true;
      if (change.key.startsWith('devices/') || change.key.startsWith('devicemodels/')) devices = true;
      if (change.op === 'delete') this.#objects.delete(change.key);
      else this.#put(change.key, change.content);
    }
    return { pods, devices };
  }

  /** The node's desired Pods. */
  pods(): JsonObject[] {
    return [...this.#objects].filter(([key]) => key.startsWith('pods/')).map(([, object]) => object);
  }

  /** Every object held, for the local API. */
  objects(): ReadonlyMap<string, JsonObject> {
    return this.#objects;
  }

  /** The Devices bound to this node (devices.kubeedge.io). */
  devices(): JsonObject[] {
    return [...this.#objects].filter(([key]) => key.startsWith('devices/')).map(([, object]) => object);
  }

  /** A DeviceModel a bound Device references. */
  deviceModel(namespace: string, name: string): JsonObject | undefined {
    return this.#objects.get(`devicemodels/${namespace}/${name}`);
  }

  configMap(namespace: string, name: string): JsonObject | undefined {
    return this.#objects.get(`configmaps/${namespace}/${name}`);
  }

  secret(namespace: string, name: string): JsonObject | undefined {
    return this.#objects.get(`secrets/${namespace}/${name}`);
  }

  #put(key: string, content: unknown): void {
    if (!isJsonObject(content)) return;
    if (!this.#objects.has(key) && this.#objects.size >= HELD_OBJECTS_MAX) return;
    this.#objects.set(key, content as JsonObject);
  }
}

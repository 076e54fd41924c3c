// The cloud's read model of what concerns edge nodes (KubeEdge's EdgeController and DeviceController
// listers): the pods, ConfigMaps, Secrets, Services, Endpoints, Nodes, Devices and DeviceModels the
// reflectors report, and from them each node's desired set
// (PROTOCOL.md, Down) and the authorization view every edge frame is checked against. No I/O: the
// shell feeds it reflector events and asks it questions.
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { contentHash, desiredContentOf, objectKeyOf, type DesiredObject, type DesiredSet, type NodeAuthorizationView } from '../../transport/index.js';
import type { ReflectorEvent } from '../kube/reflector.js';
import { podReferences, type PodReferences } from './pod-references.js';

/** The resources the view follows. */
export type ViewedKind = 'pod' | 'configmap' | 'secret' | 'service' | 'endpoints' | 'node' | 'device' | 'devicemodel';

type DesiredKind = ViewedKind;

interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

const metaOf = (object: JsonObject): Meta | undefined => {
  const metadata = object['metadata'];
  if (!isJsonObject(metadata)) return undefined;
  const { name, namespace, uid, resourceVersion } = metadata;
  if (typeof name !== 'string' || typeof uid !== 'string' || typeof resourceVersion !== 'string') return undefined;
  return { name, namespace: typeof namespace === 'string' ? namespace : '', uid, resourceVersion };
};

const nodeNameOf = (pod: JsonObject): string | undefined => {
  const spec = pod['spec'];
  const nodeName = isJsonObject(spec) ? spec['nodeName'] : undefined;
  return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
};

/** A decimal resourceVersion's order; the view's own revision is the newest it has seen. */
const newer = (a: string, b: string): boolean => a.length !== b.length ? a.length > b.length : a > b;

/** A Device's `spec.deviceModelRef.name`, the DeviceModel of the same namespace it instantiates. */
const modelNameOf = (device: JsonObject): string | undefined => {
  const spec = device['spec'];
  const ref = isJsonObject(spec) ? spec['deviceModelRef'] : undefined;
  const name = isJsonObject(ref) ? ref['name'] : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
};

interface DeviceEntry {
  readonly object: JsonObject;
  readonly meta: Meta;
  readonly nodeName: string | undefined;
  /** `namespace/model`, the key of the DeviceModel it references. */
  readonly modelKey: string | undefined;
}

/** Adds `member` to the set under `key`, making the set on first use. */
const addToIndex = (index: Map<string, Set<string>>, key: string, member: string): void => {
  let members = index.get(key);
  if (members === undefined) index.set(key, (members = new Set()));
  members.add(member);
};

/** Removes `member` from the set under `key`, dropping the set once empty. */
const removeFromIndex = (index: Map<string, Set<string>>, key: string, member: string): void => {
  const members = index.get(key);
  members?.delete(member);
  if (members?.size === 0) index.delete(key);
};

interface PodEntry {
  readonly object: JsonObject;
  readonly meta: Meta;
  readonly nodeName: string | undefined;
  readonly references: PodReferences;
}

/**
 * The view. `apply` takes one reflector event of one kind and returns the nodes whose desired set
 * may have changed, so the shell tells only those to the hub.
 */
export class ClusterView implements NodeAuthorizationView {
  readonly #pods = new Map<string, PodEntry>();
  /** `namespace/name` → uid of the pod, for authorization by name. */
  readonly #podByName = new Map<string, string>();
  /** node → uids of the pods bound to it, so a node's desired set costs its own pods, not all. */
  readonly #podsByNode = new Map<string, Set<string>>();
  readonly #configMaps = new Map<string, JsonObject>();
  readonly #secrets = new Map<string, JsonObject>();
  readonly #nodes = new Map<string, JsonObject>();
  /** Services and Endpoints by `namespace/name`: every node with pods in a namespace gets that namespace's (its local API serves them to edge apps). */
  readonly #services = new Map<string, JsonObject>();
  readonly #endpoints = new Map<string, JsonObject>();
  readonly #devices = new Map<string, DeviceEntry>();
  /** `namespace/name` → uid of the Device, for authorization by name. */
  readonly #deviceByName = new Map<string, string>();
  /** node → uids of the Devices bound to it; `namespace/model` → uids of the Devices referencing it. */
  readonly #devicesByNode = new Map<string, Set<string>>();
  readonly #devicesByModel = new Map<string, Set<string>>();
  /** DeviceModels by `namespace/name`. */
  readonly #deviceModels = new Map<string, JsonObject>();
  /** Desired objects already built, by uid: kept while their resourceVersion holds, so a set's objects keep their identity. */
  readonly #desiredCache = new Map<string, DesiredObject>();
  #resourceVersion = '0';

  /** Applies one reflector event; returns the nodes whose desired set may differ now. */
  apply(kind: ViewedKind, event: ReflectorEvent): ReadonlySet<string> {
    if (newer(event.resourceVersion, this.#resourceVersion)) this.#resourceVersion = event.resourceVersion;
    const affected = new Set<string>();
    if (event.type === 'listed') {
      for (const object of this.#objectsOf(kind)) this.#remove(kind, object, affected);
      for (const object of event.objects) this.#put(kind, object, affected);
    } else if (event.type === 'DELETED') {
      this.#remove(kind, event.object, affected);
    } else {
      this.#put(kind, event.object, affected);
    }
    return affected;
  }

  /** The newest resourceVersion the view has seen (tombstones carry it). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Every node some pod or Device is bound to, or that exists as a Node. */
  nodeNames(): ReadonlySet<string> {
    const names = new Set<string>(this.#nodes.keys());
    for (const pod of this.#pods.values()) if (pod.nodeName !== undefined) names.add(pod.nodeName);
    for (const node of this.#devicesByNode.keys()) names.add(node);
    return names;
  }

  /**
   * What the node must hold: its pods, the ConfigMaps and Secrets they reference, the Services and
   * Endpoints of the namespaces its pods run in, the Devices bound to it with the DeviceModels they
   * reference, and its own Node.
   */
  desiredSet(nodeName: string): DesiredSet {
    const objects = new Map<string, DesiredObject>();
    const namespaces = new Set<string>();
    const add = (type: DesiredKind, object: JsonObject | undefined): void => {
      const meta = object === undefined ? undefined : metaOf(object);
      if (object === undefined || meta === undefined) return;
      objects.set(meta.uid, this.#desiredOf(type, object, meta));
    };
    for (const uid of this.#podsByNode.get(nodeName) ?? []) {
      const pod = this.#pods.get(uid);
      if (pod === undefined) continue;
      add('pod', pod.object);
      namespaces.add(pod.meta.namespace);
      for (const name of pod.references.configMaps) add('configmap', this.#configMaps.get(`${pod.meta.namespace}/${name}`));
      for (const name of pod.references.secrets) add('secret', this.#secrets.get(`${pod.meta.namespace}/${name}`));
    }
    for (const [kind, map] of [['service', this.#services], ['endpoints', this.#endpoints]] as const) {
      for (const object of map.values()) if (namespaces.has(metaOf(object)?.namespace ?? '')) add(kind, object);
    }
    for (const uid of this.#devicesByNode.get(nodeName) ?? []) {
      const device = this.#devices.get(uid);
      if (device === undefined) continue;
      add('device', device.object);
      if (device.modelKey !== undefined) add('devicemodel', this.#deviceModels.get(device.modelKey));
    }
    add('node', this.#nodes.get(nodeName));
    return { objects, resourceVersion: this.#resourceVersion };
  }

  podNode(namespace: string, name: string): string | undefined {
    const uid = this.#podByName.get(`${namespace}/${name}`);
    return uid === undefined ? undefined : this.#pods.get(uid)?.nodeName;
  }

  deviceNode(namespace: string, name: string): string | undefined {
    const uid = this.#deviceByName.get(`${namespace}/${name}`);
    return uid === undefined ? undefined : this.#devices.get(uid)?.nodeName;
  }

  configMapReferencedBy(nodeName: string, namespace: string, name: string): boolean {
    return this.#someBoundPod(nodeName, namespace, (refs) => refs.configMaps.has(name));
  }

  secretReferencedBy(nodeName: string, namespace: string, name: string): boolean {
    return this.#someBoundPod(nodeName, namespace, (refs) => refs.secrets.has(name));
  }

  /** The pod object with this uid, if the view holds it. */
  pod(uid: string): JsonObject | undefined {
    return this.#pods.get(uid)?.object;
  }

  #someBoundPod(nodeName: string, namespace: string, references: (refs: PodReferences) => boolean): boolean {
    for (const uid of this.#podsByNode.get(nodeName) ?? []) {
      const pod = this.#pods.get(uid);
      if (pod !== undefined && pod.meta.namespace === namespace && references(pod.references)) return true;
    }
    return false;
  }

  #desiredOf(type: DesiredKind, object: JsonObject, meta: Meta): DesiredObject {
    const cached = this.#desiredCache.get(meta.uid);
    if (cached !== undefined && cached.resourceVersion === meta.resourceVersion) return cached;
    const content = desiredContentOf(object);
    const desired: DesiredObject = {
      uid: meta.uid,
      key: objectKeyOf(type, type === 'node' ? null : meta.namespace, meta.name),
      resourceVersion: meta.resourceVersion,
      contentHash: contentHash(content),
      content,
    };
    this.#desiredCache.set(meta.uid, desired);
    return desired;
  }

  #objectsOf(kind: ViewedKind): JsonObject[] {
    switch (kind) {
      case 'pod':
        return [...this.#pods.values()].map((p) => p.object);
      case 'configmap':
        return [...this.#configMaps.values()];
      case 'secret':
        return [...this.#secrets.values()];
      case 'service':
        return [...this.#services.values()];
      case 'endpoints':
        return [...this.#endpoints.values()];
      case 'node':
        return [...this.#nodes.values()];
      case 'device':
        return [...this.#devices.values()].map((d) => d.object);
      case 'devicemodel':
        return [...this.#deviceModels.values()];
    }
  }

  #put(kind: ViewedKind, object: JsonObject, affected: Set<string>): void {
    const meta = metaOf(object);
    if (meta === undefined) return;
    this.#remove(kind, object, affected);
    switch (kind) {
      case 'pod': {
        const entry: PodEntry = { object, meta, nodeName: nodeNameOf(object), references: podReferences(object) };
        this.#pods.set(meta.uid, entry);
        this.#podByName.set(`${meta.namespace}/${meta.name}`, meta.uid);
        if (entry.nodeName !== undefined) {
          affected.add(entry.nodeName);
          let onNode = this.#podsByNode.get(entry.nodeName);
          if (onNode === undefined) this.#podsByNode.set(entry.nodeName, (onNode = new Set()));
          onNode.add(meta.uid);
        }
        return;
      }
      case 'configmap':
      case 'secret':
        (kind === 'configmap' ? this.#configMaps : this.#secrets).set(`${meta.namespace}/${meta.name}`, object);
        for (const node of this.#nodesReferencing(kind, meta.namespace, meta.name)) affected.add(node);
        return;
      case 'service':
      case 'endpoints':
        (kind === 'service' ? this.#services : this.#endpoints).set(`${meta.namespace}/${meta.name}`, object);
        for (const node of this.#nodesInNamespace(meta.namespace)) affected.add(node);
        return;
      case 'node':
        this.#nodes.set(meta.name, object);
        affected.add(meta.name);
        return;
      case 'device':
        return this.#putDevice(object, meta, affected);
      case 'devicemodel':
        this.#deviceModels.set(`${meta.namespace}/${meta.name}`, object);
        this.#addNodesOfModel(`${meta.namespace}/${meta.name}`, affected);
        return;
    }
  }

  #putDevice(object: JsonObject, meta: Meta, affected: Set<string>): void {
    const modelName = modelNameOf(object);
    const entry: DeviceEntry = { object, meta, nodeName: nodeNameOf(object), modelKey: modelName === undefined ? undefined : `${meta.namespace}/${modelName}` };
    this.#devices.set(meta.uid, entry);
    this.#deviceByName.set(`${meta.namespace}/${meta.name}`, meta.uid);
    if (entry.modelKey !== undefined) addToIndex(this.#devicesByModel, entry.modelKey, meta.uid);
    if (entry.nodeName !== undefined) {
      affected.add(entry.nodeName);
      addToIndex(this.#devicesByNode, entry.nodeName, meta.uid);
    }
  }

  #removeDevice(meta: Meta, affected: Set<string>): void {
    const uid = this.#deviceByName.get(`${meta.namespace}/${meta.name}`);
    const old = uid === undefined ? undefined : this.#devices.get(uid);
    if (old === undefined) return;
    this.#devices.delete(old.meta.uid);
    this.#deviceByName.delete(`${meta.namespace}/${meta.name}`);
    this.#desiredCache.delete(old.meta.uid);
    if (old.modelKey !== undefined) removeFromIndex(this.#devicesByModel, old.modelKey, old.meta.uid);
    if (old.nodeName !== undefined) {
      affected.add(old.nodeName);
      removeFromIndex(this.#devicesByNode, old.nodeName, old.meta.uid);
    }
  }

  /** The nodes holding a Device that references the model: they hold the model too. */
  #addNodesOfModel(modelKey: string, affected: Set<string>): void {
    for (const uid of this.#devicesByModel.get(modelKey) ?? []) {
      const nodeName = this.#devices.get(uid)?.nodeName;
      if (nodeName !== undefined) affected.add(nodeName);
    }
  }

  #remove(kind: ViewedKind, object: JsonObject, affected: Set<string>): void {
    const meta = metaOf(object);
    if (meta === undefined) return;
    switch (kind) {
      case 'pod': {
        const uid = this.#podByName.get(`${meta.namespace}/${meta.name}`);
        const old = uid === undefined ? undefined : this.#pods.get(uid);
        if (old === undefined) return;
        this.#pods.delete(old.meta.uid);
        this.#podByName.delete(`${meta.namespace}/${meta.name}`);
        this.#desiredCache.delete(old.meta.uid);
        if (old.nodeName !== undefined) {
          affected.add(old.nodeName);
          const onNode = this.#podsByNode.get(old.nodeName);
          onNode?.delete(old.meta.uid);
          if (onNode?.size === 0) this.#podsByNode.delete(old.nodeName);
        }
        return;
      }
      case 'configmap':
      case 'secret': {
        const map = kind === 'configmap' ? this.#configMaps : this.#secrets;
        const old = map.get(`${meta.namespace}/${meta.name}`);
        if (old === undefined) return;
        map.delete(`${meta.namespace}/${meta.name}`);
        const oldUid = metaOf(old)?.uid;
        if (oldUid !== undefined) this.#desiredCache.delete(oldUid);
        for (const node of this.#nodesReferencing(kind, meta.namespace, meta.name)) affected.add(node);
        return;
      }
      case 'service':
      case 'endpoints': {
        const map = kind === 'service' ? this.#services : this.#endpoints;
        const old = map.get(`${meta.namespace}/${meta.name}`);
        if (old === undefined) return;
        map.delete(`${meta.namespace}/${meta.name}`);
        const oldUid = metaOf(old)?.uid;
        if (oldUid !== undefined) this.#desiredCache.delete(oldUid);
        for (const node of this.#nodesInNamespace(meta.namespace)) affected.add(node);
        return;
      }
      case 'node': {
        const old = this.#nodes.get(meta.name);
        if (old === undefined) return;
        this.#nodes.delete(meta.name);
        const oldUid = metaOf(old)?.uid;
        if (oldUid !== undefined) this.#desiredCache.delete(oldUid);
        affected.add(meta.name);
        return;
      }
      case 'device':
        return this.#removeDevice(meta, affected);
      case 'devicemodel': {
        const old = this.#deviceModels.get(`${meta.namespace}/${meta.name}`);
        if (old === undefined) return;
        this.#deviceModels.delete(`${meta.namespace}/${meta.name}`);
        const oldUid = metaOf(old)?.uid;
        if (oldUid !== undefined) this.#desiredCache.delete(oldUid);
        this.#addNodesOfModel(`${meta.namespace}/${meta.name}`, affected);
        return;
      }
    }
  }

  #nodesInNamespace(namespace: string): Set<string> {
    const nodes = new Set<string>();
    for (const pod of this.#pods.values()) if (pod.nodeName !== undefined && pod.meta.namespace === namespace) nodes.add(pod.nodeName);
    return nodes;
  }

  #nodesReferencing(kind: 'configmap' | 'secret', namespace: string, name: string): Set<string> {
    const nodes = new Set<string>();
    for (const pod of this.#pods.values()) {
      if (pod.nodeName === undefined || pod.meta.namespace !== namespace) continue;
      const names = kind === 'configmap' ? pod.references.configMaps : pod.references.secrets;
      if (names.has(name)) nodes.add(pod.nodeName);
    }
    return nodes;
  }
}

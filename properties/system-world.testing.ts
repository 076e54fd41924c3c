// The whole-system simulator (issue 9, STYLE R17): the simulated API server with the cloud's control
// loops, the production ClusterView computing each node's desired set, the cloud and edge stream
// hosts running the production sync cores with every frame through the production codec, the
// cloud's status writes with the production fence and device planner, and per edge the pod and twin
// actors (production deciders and machines) over its journal and a process runtime that outlives
// the edge process. Only time, ids, network, disks and processes are simulated, all driven by the
// schedule fast-check generates, so a failing seed replays exactly.
import fc from 'fast-check';
import { canonicalJson, decodeFrame, encodeFrame } from '../transport/frames/codec.js';
import { atCloud, atEdge, cloudFrameOf, defaultUpRoute, edgeFrameOf } from '../transport/stream/wire.js';
import { ClusterView, type ViewedKind } from '../projections/index.js';
import { lineageOf, storedPositionOf, withoutPosition, type EdgePosition } from '../projections/edge-controller/status-writer.position.js';
import { storedDevicePosition } from '../projections/device-controller/device-status.plan.js';
import { arrayAt, objectAt, stringAt, uidOf } from '../projections/kube/json-fields.js';
import type { JsonObject } from '../kernel/index.js';
import type { CloudToEdgeFrame, EdgeToCloudFrame } from '../transport/sync/index.js';
import { SimulatedApi, type Plural } from './system-api.testing.js';
import { CloudControllers } from './system-controllers.testing.js';
import { CloudWrites } from './system-cloud-writes.testing.js';
import { EdgeApps, type SimPod, type SimTwin } from './system-edge-apps.testing.js';
import { SIMULATION_EPOCH_MS, type EdgeActorJournal, type EdgeAppsPorts, type HeldContent } from './system-ports.testing.js';
import { SimulatedRuntime } from './system-runtime.testing.js';
import type { Direction, PlannedFault } from './simulated-network.testing.js';
import type { SimulatedTime } from './simulated-time.testing.js';
import { StreamWorld, type WorldConfig, type WorldParts, type WorldStep } from './stream-world.testing.js';
import type { EdgeHost } from './stream-edge-host.testing.js';

export const POD_NAMESPACE = 'default';
export const DEVICE_NAMESPACE = 'plant';
/** The Device properties the simulated mappers and users change (the DeviceModel of system-api.testing.ts declares them). */
export const DEVICE_PROPERTIES = ['temperature', 'target', 'mode'] as const;

export interface SystemConfig {
  readonly stream: WorldConfig;
  /** One API round trip of the cloud's writes. */
  readonly apiLatencyMs: number;
  /** Delay before a control-loop pass after a change. */
  readonly passDelayMs: number;
  /** A container process's start and stop times. */
  readonly startMs: number;
  readonly stopMs: number;
}

/** The fault steps of the stream world that apply here as they are (no abstract `produce`/`desire`). */
type FaultStep = Exclude<WorldStep, { readonly t: 'produce' } | { readonly t: 'desire' }>;

/** One step of a system schedule. Node, object and property numbers are taken modulo what exists. */
export type SystemStep =
  | FaultStep
  /** The node is cut off: connections closed and refused, or (`silent`) every frame lost with nothing closed. */
  | { readonly t: 'partition'; readonly node: number; readonly ms: number; readonly silent?: boolean }
  | { readonly t: 'skewClock'; readonly node: number; readonly ms: number }
  | { readonly t: 'containerExits'; readonly node: number; readonly index: number; readonly exitCode: number }
  | { readonly t: 'createPod'; readonly name: number; readonly node: number | null; readonly restartPolicy: 'Always' | 'OnFailure' | 'Never'; readonly configMap: number | null; readonly secret?: number | null }
  /** A Secret's value, from a few (pods of both nodes may reference the same one). */
  | { readonly t: 'putSecret'; readonly name: number; readonly value: number }
  /** A backup of the API server's data is taken (a later reset may restore it). */
  | { readonly t: 'backupCluster' }
  /** The API server's data is replaced: by what it is now (same or new uids), or by the last backup, with what changed since gone. */
  | { readonly t: 'restoreCluster'; readonly sameUids: boolean; readonly lostMask: number }
  /** A ConfigMap's value, from a few: changes and changes back (the same content again). */
  | { readonly t: 'putConfigMap'; readonly name: number; readonly value: number }
  | { readonly t: 'deletePod'; readonly name: number }
  | { readonly t: 'createDeployment' | 'scaleDeployment'; readonly name: number; readonly replicas: number }
  | { readonly t: 'rolloutDeployment' | 'deleteDeployment'; readonly name: number }
  | { readonly t: 'createDevice' | 'moveDevice'; readonly name: number; readonly node: number }
  | { readonly t: 'deleteDevice'; readonly name: number }
  | { readonly t: 'setDesired' | 'mapperUpdate'; readonly name: number; readonly property: number; readonly value: number }
  /** The device's mapper reports its state (one KubeEdge knows, or one it does not, which is dropped). */
  | { readonly t: 'mapperState'; readonly name: number; readonly state: number };

const viewedKinds: Partial<Record<Plural, ViewedKind>> = { pods: 'pod', configmaps: 'configmap', secrets: 'secret', nodes: 'node', devices: 'device', devicemodels: 'devicemodel' };

/** What the schedules did, so a sample shows the paths the invariants are about were reached. */
export interface SystemStats {
  podsRunning: number;
  containerExits: number;
  mapperUpdatesAccepted: number;
  mapperUpdatesUnknown: number;
  partitions: number;
  restoresFromBackup: number;
  resetsWithNewUids: number;
  clockSkews: number;
  rollouts: number;
  deviceMoves: number;
  configMapChanges: number;
  secretChanges: number;
  stateReportsAccepted: number;
}

export class SystemWorld {
  readonly stream: StreamWorld;
  api!: SimulatedApi;
  view!: ClusterView;
  writes!: CloudWrites;
  controllers: CloudControllers | null = null;
  readonly runtimes = new Map<string, SimulatedRuntime>();
  /** The edge applications of each node's current process life. */
  readonly apps = new Map<string, EdgeApps>();
  readonly skews = new Map<string, number>();
  readonly stats: SystemStats = {
    podsRunning: 0,
    containerExits: 0,
    mapperUpdatesAccepted: 0,
    mapperUpdatesUnknown: 0,
    partitions: 0,
    restoresFromBackup: 0,
    resetsWithNewUids: 0,
    clockSkews: 0,
    rollouts: 0,
    deviceMoves: 0,
    configMapChanges: 0,
    secretChanges: 0,
    stateReportsAccepted: 0,
  };
  #ids = 0;
  /** Whether the reset under way restores the last backup. */
  #fromBackup = false;
  /** The edge position each pod's or Device's status last reflected, by uid. */
  readonly #positions = new Map<string, EdgePosition>();
  /** Uids of pods the API server lost in a reset of its data. */
  readonly #lostInResets = new Set<string>();

  #time!: SimulatedTime;

  constructor(readonly config: SystemConfig) {
    this.stream = new StreamWorld(config.stream, (world) => this.#parts(world));
  }

  get nodes(): readonly string[] {
    return this.config.stream.nodes;
  }

  get time(): SimulatedTime {
    return this.#time;
  }

  /** Called while the stream world is built (its hosts start the edge applications at once). */
  #parts(world: StreamWorld): WorldParts {
    this.#time = world.time;
    for (const node of this.nodes) this.runtimes.set(node, new SimulatedRuntime(world.time, node, { startMs: this.config.startMs, stopMs: this.config.stopMs, wallMs: () => this.#wallMs(node) }));
    this.api = new SimulatedApi(world.time, this.nodes);
    this.view = new ClusterView();
    this.#relist();
    this.writes = new CloudWrites(this.api, world.time, this.config.apiLatencyMs);
    this.api.watch((plural, event) => {
      if (event.type !== 'listed' && event.type !== 'DELETED' && (plural === 'pods' || plural === 'devices')) this.#checkStatusPosition(plural, event.object);
      const kind = viewedKinds[plural];
      if (kind !== undefined) for (const node of this.view.apply(kind, event)) this.stream.cloud?.desiredChanged(node);
      this.controllers?.kick();
    });
    const api = this.api;
    const view = this.view;
    return {
      cluster: {
        get serial() {
          return api.serial;
        },
        get clusterId() {
          return api.clusterId;
        },
        get everDesired() {
          return api.everInScope;
        },
        desiredSet: (node) => view.desiredSet(node),
        reset: (sameUids, lostMask) => {
          api.reset(sameUids, lostMask, this.#fromBackup);
          this.#relist();
        },
      },
      performEffect: (life, node, journalId, seq, event, done) => this.writes.perform(life, node, journalId, seq, event, done),
      edgeApplications: (edge) => this.#edgeApplications(edge),
      cloudStarted: (cloud) => {
        this.controllers = new CloudControllers(this.api, world.time, cloud.life, { passDelayMs: this.config.passDelayMs });
        this.controllers.kick();
      },
      wire: { toCloud: (node, frame) => this.#toCloud(node, frame), toEdge: (node, frame) => this.#toEdge(node, frame) },
    };
  }

  /**
   * Invariant 2's fence, at every status write: within one edge journal the position a status
   * reflects never goes back, and no journal the node's lineage lists as retired writes at all.
   */
  #checkStatusPosition(plural: 'pods' | 'devices', object: JsonObject): void {
    const status = objectAt(object, 'status');
    const position = plural === 'pods' ? storedPositionOf(status) : storedDevicePosition(status);
    if (position === undefined) return;
    const uid = uidOf(object);
    const before = this.#positions.get(uid);
    // Another change to the object (its spec, a deletion mark) carries the status as it was.
    if (before !== undefined && before.journalId === position.journalId && before.seq === position.seq) return;
    const name = `${plural} ${stringAt(objectAt(object, 'metadata'), 'name')}`;
    if (before !== undefined && before.journalId === position.journalId && position.seq < before.seq) {
      this.stream.violation(`${name}: status went back from ${before.journalId}/${before.seq} to ${position.seq}`);
    }
    const lineage = lineageOf(this.api.get('nodes', '', stringAt(objectAt(object, 'spec'), 'nodeName') ?? ''));
    if (lineage.includes(position.journalId) && lineage[0] !== position.journalId) this.stream.violation(`${name}: status written for retired journal ${position.journalId} (lineage ${lineage.join(',')})`);
    this.#positions.set(uid, position);
  }

  /** The cloud's reflectors list everything again (at start, and after the API's data was replaced). */
  #relist(): void {
    // Restored data may rightly carry older positions: the fence check starts over from them.
    this.#positions.clear();
    for (const plural of ['pods', 'devices'] as const) {
      for (const object of this.api.list(plural)) {
        const status = objectAt(object, 'status');
        const position = plural === 'pods' ? storedPositionOf(status) : storedDevicePosition(status);
        if (position !== undefined) this.#positions.set(uidOf(object), position);
      }
    }
    for (const [plural, kind] of Object.entries(viewedKinds) as [Plural, ViewedKind][]) this.view.apply(kind, this.api.listed(plural));
  }

  #edgeApplications(edge: EdgeHost) {
    const node = edge.node;
    const journal: EdgeActorJournal = {
      get streams() {
        return edge.disk.visible.actors;
      },
      append: (stream, events, committed) => {
        edge.disk.write(edge.life, (j) => ({ ...j, actors: new Map(j.actors).set(stream, [...(j.actors.get(stream) ?? []), ...events]) }), committed);
      },
      remove: (stream, committed) => {
        edge.disk.write(
          edge.life,
          (j) => {
            const actors = new Map(j.actors);
            actors.delete(stream);
            return { ...j, actors };
          },
          committed,
        );
      },
    };
    const ports: EdgeAppsPorts = {
      node,
      time: this.time,
      life: edge.life,
      wallMs: () => this.#wallMs(node),
      nextId: () => `id-${++this.#ids}`,
      journal,
      report: (events) => edge.report(events),
      violation: (message) => this.stream.violation(`${node}: ${message}`),
    };
    const apps = new EdgeApps(ports, this.runtimes.get(node)!);
    this.apps.set(node, apps);
    const held = (): HeldContent => new Map([...edge.disk.visible.objects].map(([key, o]) => [key, { uid: o.uid, content: o.content as JsonObject }]));
    return { start: () => apps.start(held()), desiredChanged: () => apps.desiredChanged(held()), reportAll: () => apps.reportAll() };
  }

  #wallMs(node: string): number {
    return SIMULATION_EPOCH_MS + this.time.now + (this.skews.get(node) ?? 0);
  }

  /** An edge frame through the production codec: built, encoded, decoded and read as the cloud reads it. */
  #toCloud(node: string, message: EdgeToCloudFrame): EdgeToCloudFrame | { readonly refused: string } {
    const text = encodeFrame(edgeFrameOf(message, node, this.#stamp(), defaultUpRoute(node)));
    const decoded = decodeFrame(text, { frameBytesMax: this.config.stream.flow.frameBytesMax });
    if (!decoded.ok) return { refused: `edge frame ${message.kind} undecodable: ${JSON.stringify(decoded.error)}` };
    const inbound = atCloud(decoded.value);
    if (!inbound.ok) return { refused: inbound.error.reason };
    return inbound.value.kind === 'sync' ? inbound.value.message : { refused: `edge frame ${message.kind} read as ${inbound.value.kind}` };
  }

  #toEdge(node: string, message: CloudToEdgeFrame): CloudToEdgeFrame | { readonly refused: string } {
    const text = encodeFrame(cloudFrameOf(message, node, this.#stamp()));
    const decoded = decodeFrame(text, { frameBytesMax: this.config.stream.flow.frameBytesMax });
    if (!decoded.ok) return { refused: `cloud frame ${message.kind} undecodable: ${JSON.stringify(decoded.error)}` };
    const inbound = atEdge(decoded.value);
    if (!inbound.ok) return { refused: inbound.error.reason };
    return inbound.value.kind === 'sync' ? inbound.value.message : { refused: `cloud frame ${message.kind} read as ${inbound.value.kind}` };
  }

  #stamp() {
    return { msgId: `msg-${++this.#ids}`, timestampMs: SIMULATION_EPOCH_MS + this.time.now };
  }

  apply(step: SystemStep): void {
    const node = 'node' in step && typeof step.node === 'number' ? this.nodes[step.node % this.nodes.length]! : '';
    switch (step.t) {
      case 'partition':
        this.stats.partitions += 1;
        if (step.silent === true) {
          this.stream.silentUntil.set(node, this.time.now + step.ms);
          break;
        }
        this.stream.partitionedUntil.set(node, this.time.now + step.ms);
        this.stream.edges.get(node)?.connection?.close('network partition');
        break;
      case 'skewClock':
        this.stats.clockSkews += 1;
        this.skews.set(node, step.ms);
        break;
      case 'containerExits':
        if (this.runtimes.get(node)!.crashContainer(step.index, step.exitCode)) this.stats.containerExits += 1;
        break;
      case 'createPod':
        this.api.createPod(POD_NAMESPACE, `pod-${step.name}`, {
          ...(step.node === null ? {} : { node: this.nodes[step.node % this.nodes.length]! }),
          // Schedules kept as regression tests from before pods referenced ConfigMaps have no field.
          ...((step.configMap ?? null) === null ? {} : { configMap: `settings-${step.configMap}` }),
          ...((step.secret ?? null) === null ? {} : { secret: `token-${step.secret}` }),
          restartPolicy: step.restartPolicy,
        });
        break;
      case 'putSecret':
        if (this.api.putSecret(POD_NAMESPACE, `token-${step.name}`, ['s3cret', 'hunter2', 'changeit'][step.value % 3]!).ok) this.stats.secretChanges += 1;
        break;
      case 'putConfigMap':
        if (this.api.putConfigMap(POD_NAMESPACE, `settings-${step.name}`, ['blue', 'green', 'red'][step.value % 3]!).ok) this.stats.configMapChanges += 1;
        break;
      case 'deletePod':
        this.api.deletePod(POD_NAMESPACE, `pod-${step.name}`);
        break;
      case 'createDeployment':
        this.api.createDeployment(POD_NAMESPACE, `web-${step.name}`, step.replicas);
        break;
      case 'scaleDeployment':
        this.api.scaleDeployment(POD_NAMESPACE, `web-${step.name}`, step.replicas);
        break;
      case 'rolloutDeployment':
        if (this.api.rolloutDeployment(POD_NAMESPACE, `web-${step.name}`).ok) this.stats.rollouts += 1;
        break;
      case 'deleteDeployment':
        this.api.deleteDeployment(POD_NAMESPACE, `web-${step.name}`);
        break;
      case 'createDevice':
        this.api.createDevice(DEVICE_NAMESPACE, `thermo-${step.name}`, node, { target: '20' });
        break;
      case 'moveDevice':
        if (this.api.moveDevice(DEVICE_NAMESPACE, `thermo-${step.name}`, node).ok) this.stats.deviceMoves += 1;
        break;
      case 'deleteDevice':
        this.api.deleteDevice(DEVICE_NAMESPACE, `thermo-${step.name}`);
        break;
      case 'setDesired':
        this.api.setDeviceDesired(DEVICE_NAMESPACE, `thermo-${step.name}`, DEVICE_PROPERTIES[step.property % DEVICE_PROPERTIES.length]!, valueOf(step.property, step.value));
        break;
      case 'mapperUpdate':
        this.#mapperUpdate(step.name, step.property, step.value);
        break;
      case 'mapperState': {
        const apps = this.#appsOfDevice(step.name);
        if (apps?.mapperState(DEVICE_NAMESPACE, `thermo-${step.name}`, ['online', 'offline', 'ok', 'unhealthy', 'broken'][step.state % 5]!) === 'accepted') this.stats.stateReportsAccepted += 1;
        break;
      }
      case 'backupCluster':
        this.api.backup();
        break;
      case 'restoreCluster':
      case 'resetCluster': {
        const before = this.api.list('pods').map((pod) => uidOf(pod));
        this.#fromBackup = step.t === 'restoreCluster';
        if (this.#fromBackup) this.stats.restoresFromBackup += 1;
        if (!step.sameUids) this.stats.resetsWithNewUids += 1;
        this.stream.apply({ t: 'resetCluster', sameUids: step.sameUids, lostMask: step.lostMask });
        this.#fromBackup = false;
        const after = new Set(this.api.list('pods').map((pod) => uidOf(pod)));
        for (const uid of before) if (!after.has(uid)) this.#lostInResets.add(uid);
        break;
      }
      default:
        this.stream.apply(step);
    }
    this.checkNoPodOnTwoNodes();
  }

  /** The live edge applications of the node the Device is bound to in the API: its mapper publishes to that edge's broker. */
  #appsOfDevice(name: number): EdgeApps | undefined {
    const device = this.api.get('devices', DEVICE_NAMESPACE, `thermo-${name}`);
    const node = stringAt(objectAt(device, 'spec'), 'nodeName');
    return node === undefined || this.stream.edges.get(node) === null ? undefined : this.apps.get(node);
  }

  #mapperUpdate(name: number, property: number, value: number): void {
    const apps = this.#appsOfDevice(name);
    const answer = apps?.mapperUpdate(DEVICE_NAMESPACE, `thermo-${name}`, DEVICE_PROPERTIES[property % DEVICE_PROPERTIES.length]!, valueOf(property, value));
    if (answer === 'accepted') this.stats.mapperUpdatesAccepted += 1;
    else this.stats.mapperUpdatesUnknown += 1;
  }

  /**
   * Checked after every step: no pod (by uid, and by namespace/name) has live processes on two nodes
   * at once. By name, Kubernetes' graceful deletion is what guarantees it (a name is free again only
   * once its node confirmed the end), so a pod the API server lost in a reset of its data is left
   * out: nothing remembers it ran, as with a real etcd restore (the check after healing still finds
   * any such process left running).
   */
  checkNoPodOnTwoNodes(): void {
    const where = new Map<string, Set<string>>();
    for (const [node, runtime] of this.runtimes) {
      for (const p of runtime.alive()) {
        const keys = this.#lostInResets.has(p.podUid) ? [`uid ${p.podUid}`] : [`${p.namespace}/${p.name}`, `uid ${p.podUid}`];
        for (const key of keys) where.set(key, (where.get(key) ?? new Set()).add(node));
      }
    }
    for (const [pod, nodes] of where) if (nodes.size > 1) this.stream.violation(`pod ${pod} runs on ${[...nodes].join(' and ')}`);
  }

  /** Faults stop; runs until quiescent; returns every invariant that failed (empty: all hold). */
  healAndCheck(): string[] {
    const quiescent = this.stream.heal();
    this.checkNoPodOnTwoNodes();
    const failures = this.stream.check(quiescent);
    for (const node of this.nodes) failures.push(...this.#checkPods(node), ...this.#checkTwins(node));
    return failures;
  }

  /** Pods: the edge runs exactly the pods bound to it in the API, their status in the API is the edge's, and their processes live. */
  #checkPods(node: string): string[] {
    const failures: string[] = [];
    const apps = this.apps.get(node);
    const edgePods = apps?.pods() ?? new Map<string, SimPod>();
    const apiPods = this.api.list('pods').filter((pod) => stringAt(objectAt(pod, 'spec'), 'nodeName') === node);
    for (const pod of apiPods) {
      const name = `${stringAt(objectAt(pod, 'metadata'), 'namespace')}/${stringAt(objectAt(pod, 'metadata'), 'name')}`;
      if (stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') !== undefined) failures.push(`${node}: pod ${name} still terminating after healing`);
      const held = edgePods.get(uidOf(pod));
      if (held === undefined) {
        failures.push(`${node}: pod ${name} (${uidOf(pod)}) bound here has no actor at the edge`);
        continue;
      }
      // The fields the edge reports (the API server adds others of its own, such as qosClass).
      const reported = held.status === undefined ? 'none' : canonicalJson(held.status);
      const inApi = withoutPosition(objectAt(pod, 'status'));
      const stored = held.status === undefined ? 'none' : canonicalJson(Object.fromEntries(Object.keys(held.status).flatMap((key) => (key in inApi ? [[key, inApi[key]!]] : []))));
      if (stored !== reported) failures.push(`${node}: pod ${name} status in the API ${stored}, at the edge ${reported}`);
    }
    const bound = new Set(apiPods.map((pod) => uidOf(pod)));
    for (const [uid, pod] of edgePods) if (!bound.has(uid)) failures.push(`${node}: the edge still has pod ${pod.namespace}/${pod.name} (${uid}), not bound here in the API`);
    for (const p of this.runtimes.get(node)!.alive()) if (!bound.has(p.podUid)) failures.push(`${node}: process of pod ${p.namespace}/${p.name} (${p.podUid}) still runs`);
    for (const [uid, pod] of edgePods) {
      if (pod.state.status === 'absent') continue;
      // Quiescent means no timer is left: a container still waiting for its restart waits forever.
      if (pod.state.status === 'crashLoopBackOff' || pod.state.status === 'restarting') failures.push(`${node}: pod ${pod.name} is stuck in ${pod.state.status} after healing`);
      if (pod.state.status === 'running' || pod.state.status === 'pending' || pod.state.status === 'containerCreating') this.stats.podsRunning += 1;
      for (const c of pod.state.containers) {
        const state = c.state;
        if (state.state === 'running' && !this.runtimes.get(node)!.alive().some((p) => p.podUid === uid && p.runId === state.runId)) failures.push(`${node}: pod ${pod.name} container ${c.name} is running without a process`);
      }
    }
    return failures;
  }

  /** Twins: every Device bound to the node has its twin there, expected = desired, and the Device's reported = the twin's actual. */
  #checkTwins(node: string): string[] {
    const failures: string[] = [];
    const twins = this.apps.get(node)?.twins() ?? new Map<string, SimTwin>();
    const devices = this.api.list('devices').filter((d) => stringAt(objectAt(d, 'spec'), 'nodeName') === node);
    for (const device of devices) {
      const name = `${stringAt(objectAt(device, 'metadata'), 'namespace')}/${stringAt(objectAt(device, 'metadata'), 'name')}`;
      const twin = twins.get(name);
      if (twin === undefined || twin.uid !== uidOf(device)) {
        failures.push(`${node}: Device ${name} (${uidOf(device)}) has twin ${twin?.uid ?? 'none'}`);
        continue;
      }
      for (const property of arrayAt(objectAt(device, 'spec'), 'properties')) {
        const property_name = stringAt(property, 'name') ?? '';
        const desired = stringAt(objectAt(property, 'desired'), 'value') ?? null;
        const expected = twin.properties[property_name]?.expected ?? null;
        if (desired !== expected) failures.push(`${node}: ${name}.${property_name} desired ${desired}, twin expected ${expected}`);
      }
      // The Device's status.twins is the twin as the edge last reported it: one entry per live
      // property, reported = actual (absent without one), observedDesired = expected (without one:
      // "" when the property has no value at all, else absent).
      const entries = arrayAt(objectAt(device, 'status'), 'twins');
      const inApi = new Map(entries.map((t) => [stringAt(t, 'propertyName') ?? '', { reported: stringAt(objectAt(t, 'reported'), 'value') ?? null, observed: stringAt(objectAt(t, 'observedDesired'), 'value') ?? null }]));
      const live = Object.keys(twin.properties).sort();
      if (JSON.stringify([...inApi.keys()].sort()) !== JSON.stringify(live)) failures.push(`${node}: ${name} has status.twins for ${[...inApi.keys()].sort().join(',')}, the twin ${live.join(',')}`);
      for (const [property, values] of Object.entries(twin.properties)) {
        const entry = inApi.get(property);
        if (entry === undefined) continue;
        if (entry.reported !== values.actual) failures.push(`${node}: ${name}.${property} reported ${entry.reported} in the API, actual ${values.actual} at the edge`);
        if (entry.observed !== (values.expected ?? (values.actual === null ? '' : null))) failures.push(`${node}: ${name}.${property} observedDesired ${entry.observed} in the API, expected ${values.expected} at the edge`);
      }
      const stateInApi = stringAt(objectAt(device, 'status'), 'state') ?? 'unknown';
      if (stateInApi !== twin.state) failures.push(`${node}: ${name} state ${stateInApi} in the API, ${twin.state} at the edge`);
    }
    const bound = new Set(devices.map((d) => uidOf(d)));
    for (const [name, twin] of twins) if (!bound.has(twin.uid)) failures.push(`${node}: twin ${name} (${twin.uid}) is not bound here in the API`);
    return failures;
  }
}

/** A property's value as its type in the DeviceModel wants it (temperature FLOAT, target INT, mode STRING). */
const valueOf = (property: number, value: number): string => {
  switch (DEVICE_PROPERTIES[property % DEVICE_PROPERTIES.length]) {
    case 'temperature':
      return `${value}.5`;
    case 'target':
      return String(value);
    default:
      return ['auto', 'eco', 'boost'][value % 3]!;
  }
};

/** Limits of the system runs: the stream's are small (flow control and batching happen), frames fit whole objects. */
export const systemConfigArbitrary = (nodes: readonly string[]): fc.Arbitrary<SystemConfig> =>
  fc.integer({ min: 2, max: 8 }).chain((unackedFramesMax) =>
    fc.record({
      stream: fc.record({
        nodes: fc.constant(nodes),
        flow: fc.record({
          unackedFramesMax: fc.constant(unackedFramesMax),
          unackedBytesMax: fc.integer({ min: 8_000, max: 64_000 }),
          frameBytesMax: fc.constant(64 * 1024),
          ackTimeoutMs: fc.integer({ min: 500, max: 2000 }),
        }),
        ack: fc.record({
          ackEveryFrames: fc.integer({ min: 1, max: unackedFramesMax }),
          ackDelayMs: fc.integer({ min: 0, max: 40 }),
          applyQueueFramesMax: fc.constant(unackedFramesMax),
        }),
        latencyMs: fc.integer({ min: 1, max: 10 }),
        fsyncMs: fc.integer({ min: 1, max: 6 }),
        synchronous: fc.constant('FULL' as const),
        restartMs: fc.integer({ min: 5, max: 300 }),
      }),
      apiLatencyMs: fc.integer({ min: 1, max: 8 }),
      passDelayMs: fc.integer({ min: 1, max: 30 }),
      startMs: fc.integer({ min: 1, max: 30 }),
      stopMs: fc.integer({ min: 1, max: 50 }),
    }),
  );

/** A step of a system schedule: workloads, devices, mapper reports, process exits and every fault. */
export const systemStepArbitrary = (): fc.Arbitrary<SystemStep> => {
  const node = fc.nat(7);
  const direction = fc.constantFrom<Direction>('toCloud', 'toEdge');
  const fault = fc.oneof(fc.constantFrom<PlannedFault>({ fault: 'drop' }, { fault: 'duplicate' }, { fault: 'reorder' }), fc.record({ fault: fc.constant('delay' as const), ms: fc.integer({ min: 1, max: 1500 }) }));
  const name = fc.nat(3);
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ t: fc.constant('run' as const), ms: fc.integer({ min: 1, max: 300 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('runEvents' as const), events: fc.integer({ min: 1, max: 20 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('createPod' as const),
        name: fc.nat(5),
        node: fc.option(node, { nil: null }),
        restartPolicy: fc.constantFrom('Always' as const, 'OnFailure' as const, 'Never' as const),
        configMap: fc.option(fc.nat(1), { nil: null }),
        secret: fc.option(fc.nat(1), { nil: null }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('putSecret' as const), name: fc.nat(1), value: fc.nat(2) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('putConfigMap' as const), name: fc.nat(1), value: fc.nat(2) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('deletePod' as const), name: fc.nat(5) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom('createDeployment' as const, 'scaleDeployment' as const), name: fc.nat(1), replicas: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('rolloutDeployment' as const, 'deleteDeployment' as const), name: fc.nat(1) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constantFrom('createDevice' as const, 'moveDevice' as const), name, node }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteDevice' as const), name }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constantFrom('setDesired' as const, 'mapperUpdate' as const, 'mapperUpdate' as const), name, property: fc.nat(2), value: fc.nat(40) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('mapperState' as const), name, state: fc.nat(4) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('containerExits' as const), node, index: fc.nat(7), exitCode: fc.constantFrom(0, 1, 137) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom('drop' as const, 'duplicate' as const, 'reorder' as const), node, direction, index: fc.nat(7) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('fault' as const), node, direction, nth: fc.integer({ min: 1, max: 8 }), fault }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delay' as const), node, direction, ms: fc.integer({ min: 1, max: 1500 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('disconnect' as const), node }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('partition' as const), node, ms: fc.integer({ min: 100, max: 20_000 }), silent: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('skewClock' as const), node, ms: fc.integer({ min: -3_600_000, max: 3_600_000 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('crashEdge' as const), node }) },
    { weight: 1, arbitrary: fc.constant({ t: 'crashCloud' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), node }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('resetJournal' as const), node }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('resetCluster' as const), sameUids: fc.boolean(), lostMask: fc.nat(255) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'backupCluster' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('restoreCluster' as const), sameUids: fc.boolean(), lostMask: fc.nat(255) }) },
  );
};

/** Runs a schedule in a fresh system, heals it and returns the invariants that failed. */
export function runSystem(config: SystemConfig, steps: readonly SystemStep[]): { readonly failures: string[]; readonly world: SystemWorld } {
  const world = new SystemWorld(config);
  for (const step of steps) world.apply(step);
  return { failures: world.healAndCheck(), world };
}

// A small world for the twin convergence property: the production edge DeviceTwinHost over an
// ActorHost and an in-memory journal that outlives edge crashes, a model of the Device object in the
// API whose status is written by the cloud's pure planner (device-status.plan.ts) as merge patches,
// and a link between them that can be cut. Down is level-based (the Device as it is now, minus
// status), up is a log (the edge's outbox, applied in order at positions (journalId, seq)).
import { ActorHost } from '../actors/index.js';
import { MemoryEventStore, type EventStore } from '../journal/index.js';
import { isJsonObject, ManualClock, ok, SequentialIds, type JsonObject, type JsonValue } from '../kernel/index.js';
import { DeviceTwinHost, type TwinSummary } from '../projections/index.js';
import { jobOf, parseStateReport, parseTwinReport, planDeviceStatus } from '../projections/device-controller/device-status.plan.js';
import { DEVICE_STATE_REPORTED, TWIN_REPORTED } from '../projections/reports/edge-reports.js';
import { deviceTopics, parseDeviceTopic, type UpEvent } from '../transport/index.js';

/** The node the Device is bound to. */
export const NODE = 'edge-1';
/** The edge journal's id: fixed, since the edge's journal file survives its crashes. */
export const JOURNAL_ID = 'journal-edge-1';
const DEVICE = { namespace: 'plant', name: 'thermostat' } as const;
const DEVICE_UID = 'uid-thermostat-1';
const MODEL_NAME = 'thermostat-model';

/** The Device's properties and their DeviceModel types. */
export const PROPERTIES = [
  { name: 'temperature', type: 'FLOAT' },
  { name: 'fan', type: 'INT' },
  { name: 'humidity', type: 'FLOAT' },
] as const;
export type PropertyName = (typeof PROPERTIES)[number]['name'];

/** Heal rounds (down, settle, flush, up) before the world must be quiet; each round can only add reports of changes made in it. */
const HEAL_ROUNDS_MAX = 8;
/** Time the world's clock moves per step, so journaled times and report timestamps differ. */
const STEP_MS = 1_000;

const deviceModel: JsonObject = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: MODEL_NAME, namespace: DEVICE.namespace },
  spec: { properties: PROPERTIES.map((p) => ({ name: p.name, type: p.type, accessMode: 'ReadWrite' })) },
};
const modelOf = (namespace: string, name: string): JsonObject | undefined => (namespace === DEVICE.namespace && name === MODEL_NAME ? deviceModel : undefined);

/** What the world counted, so a sample can show that the faults the property is about happened. */
export interface TwinWorldStats {
  mapperUpdatesAccepted: number;
  mapperUpdatesRefused: number;
  desiredChanges: number;
  downDeliveries: number;
  statusWrites: number;
  staleReportsSkipped: number;
  duplicatesApplied: number;
  reportsLostInCrashes: number;
  edgeCrashes: number;
}

/** One edge process: its twin host, what it published on MQTT, and whether it still runs. */
interface EdgeLife {
  readonly twins: DeviceTwinHost;
  readonly published: { readonly topic: string; readonly body: JsonObject }[];
  readonly warnings: string[];
  alive: boolean;
}

/** RFC 7386 merge patch, as the API server applies the status writer's patch: objects merge, arrays and scalars replace, null deletes. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const out: Record<string, JsonValue> = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * A store that refuses writes once its edge crashed: a dead process appends nothing, while the
 * journal (the shared MemoryEventStore) keeps what was committed before.
 */
function storeOfLife(store: MemoryEventStore, life: { readonly alive: boolean }): EventStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if ((property === 'append' || property === 'saveSnapshot') && !life.alive) return () => Promise.reject(new Error('the edge crashed'));
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

/** Lets every promise chain the twin host started run to its end (all ports here answer at once). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** The world the twin convergence property drives; every step is one method. */
export class TwinWorld {
  readonly #journal = new MemoryEventStore();
  readonly #clock = new ManualClock(Date.UTC(2026, 0, 1));
  readonly #snapshotEveryEvents: number | undefined;
  #life: EdgeLife;
  #lives = 0;
  #mapperEvents = 0;

  /** The Device object in the API. */
  device: JsonObject;
  #resourceVersion = 1;
  /** The Device as the edge last stored it from down (survives a crash: the edge journals desired objects). */
  #edgeHeld: JsonObject | undefined;
  /** The edge's outbox: committed entries (seq = index + 1) and entries a crash would lose. */
  readonly durable: UpEvent[] = [];
  pending: UpEvent[] = [];
  /** The cloud's applied up position. */
  upApplied = 0;
  connected = true;
  /** Each property's last value the mapper was told was accepted. */
  readonly mapperLast = new Map<string, string>();
  /** The state the mapper last reported that the edge answered. */
  mapperState: string | undefined;
  /** Re-applications of an applied event that changed the Device's status. */
  readonly duplicateChanges: string[] = [];
  readonly stats: TwinWorldStats = { mapperUpdatesAccepted: 0, mapperUpdatesRefused: 0, desiredChanges: 0, downDeliveries: 0, statusWrites: 0, staleReportsSkipped: 0, duplicatesApplied: 0, reportsLostInCrashes: 0, edgeCrashes: 0 };

  private constructor(snapshotEveryEvents: number | undefined) {
    this.#snapshotEveryEvents = snapshotEveryEvents;
    this.device = {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name: DEVICE.name, namespace: DEVICE.namespace, uid: DEVICE_UID, generation: 1, resourceVersion: '1' },
      spec: {
        deviceModelRef: { name: MODEL_NAME },
        nodeName: NODE,
        properties: PROPERTIES.map((p): JsonObject => (p.name === 'temperature' ? { name: p.name, desired: { value: '25' } } : { name: p.name })),
      },
    };
    this.#life = this.#newLife();
  }

  /** A world with the Device in the API and an edge that has not heard of it yet. */
  static async create(options: { readonly snapshotEveryEvents?: number } = {}): Promise<TwinWorld> {
    const world = new TwinWorld(options.snapshotEveryEvents);
    await world.#life.twins.start([], modelOf);
    return world;
  }

  /** The edge's twins, as `edgehive status` shows them. */
  twins(): readonly TwinSummary[] {
    return this.#life.twins.twins();
  }

  /** Warnings the running edge logged. */
  warnings(): readonly string[] {
    return this.#life.warnings;
  }

  /** The Device's `spec.properties[name].desired.value`, or null. */
  desiredOf(name: string): string | null {
    const properties = (this.device['spec'] as { properties: { name: string; desired?: { value: string } }[] }).properties;
    return properties.find((p) => p.name === name)?.desired?.value ?? null;
  }

  /** A user changes a property's desired value (null: removes it); the API bumps generation and resourceVersion. */
  setDesired(name: PropertyName, value: string | null): void {
    this.#tick();
    const spec = this.device['spec'] as { properties: JsonObject[] };
    const properties = spec.properties.map((p) => (p['name'] !== name ? p : value === null ? { name } : { name, desired: { value } }));
    const metadata = this.device['metadata'] as { generation: number };
    this.device = { ...this.device, metadata: { ...(this.device['metadata'] as JsonObject), generation: metadata.generation + 1, resourceVersion: this.#nextResourceVersion() }, spec: { ...spec, properties } };
    this.stats.desiredChanges += 1;
  }

  /** The mapper publishes an actual value on `…/twin/update`; the answer on the result topic says whether it was accepted. */
  async mapperReports(name: PropertyName, value: string): Promise<void> {
    await this.burst([{ name, value }], false);
  }

  /**
   * The mapper publishes several values back to back while (optionally) the cloud's Device arrives
   * down: the twin host serves them concurrently with that reconcile. Served in arrival order, so
   * the last accepted value sent is the one the twin must keep.
   */
  async burst(reports: readonly { readonly name: PropertyName; readonly value: string }[], withDown: boolean): Promise<void> {
    this.#tick();
    const sent = reports.map(({ name, value }) => {
      const event_id = `mapper-${++this.#mapperEvents}`;
      const payload = { event_id, timestamp: this.#clock.nowMs(), twin: { [name]: { actual: { value } } } };
      return { name, value, answers: this.#mqtt(deviceTopics.twinUpdate(DEVICE), payload, deviceTopics.updateResult(DEVICE), event_id) };
    });
    await Promise.all([withDown ? this.deliverDown() : Promise.resolve(), ...sent.map((s) => s.answers)]);
    for (const { name, value, answers } of sent) {
      const answered = await answers;
      if (answered.length === 1 && answered[0]!['code'] === undefined) {
        this.mapperLast.set(name, value);
        this.stats.mapperUpdatesAccepted += 1;
      } else {
        this.stats.mapperUpdatesRefused += 1;
      }
    }
  }

  /** The mapper publishes the device's state on `…/state/update` (an unknown one gets no answer). */
  async mapperReportsState(state: string): Promise<void> {
    this.#tick();
    const event_id = `mapper-${++this.#mapperEvents}`;
    const answers = await this.#mqtt(deviceTopics.stateUpdate(DEVICE), { event_id, timestamp: this.#clock.nowMs(), state }, deviceTopics.stateUpdateResult(DEVICE), event_id);
    if (answers.length === 1 && answers[0]!['code'] === undefined) this.mapperState = state.toLowerCase();
  }

  disconnect(): void {
    this.connected = false;
  }

  reconnect(): void {
    this.connected = true;
  }

  /** Down, level-based: the edge stores the Device as it is now (minus status and resourceVersion) and its twin host reconciles. */
  async deliverDown(): Promise<void> {
    if (!this.connected) return;
    this.#tick();
    this.#edgeHeld = this.#desiredContent();
    this.stats.downDeliveries += 1;
    await this.#life.twins.reconcile([this.#edgeHeld], modelOf);
  }

  /** The edge stores the Device from down and crashes before its twin host hears of it. */
  async deliverDownThenCrash(): Promise<void> {
    if (!this.connected) return;
    this.#edgeHeld = this.#desiredContent();
    this.stats.downDeliveries += 1;
    await this.crashEdge();
  }

  /** The edge commits its outbox: pending reports get their seq and survive crashes. */
  flushOutbox(): void {
    this.durable.push(...this.pending);
    this.pending = [];
  }

  /** Up, a log: the cloud applies the next `count` committed outbox entries in order. */
  deliverUp(count: number): void {
    if (!this.connected) return;
    for (let i = 0; i < count && this.upApplied < this.durable.length; i++) {
      const seq = this.upApplied + 1;
      this.#applyUp(seq);
      this.upApplied = seq;
    }
  }

  /** The cloud applies an already applied entry again (a resend after a lost ack); it must change nothing. */
  duplicateUp(pick: number): void {
    if (this.upApplied === 0) return;
    const seq = 1 + (pick % this.upApplied);
    const before = JSON.stringify(this.device['status'] ?? null);
    this.#applyUp(seq);
    this.stats.duplicatesApplied += 1;
    const after = JSON.stringify(this.device['status'] ?? null);
    if (after !== before) this.duplicateChanges.push(`seq ${seq} of ${this.upApplied} applied again changed status ${before} to ${after}`);
  }

  /** The edge process dies: what the outbox had not committed is lost; a new process starts on the same journal and its stored Device. */
  async crashEdge(): Promise<void> {
    this.#tick();
    this.#life.alive = false;
    this.stats.edgeCrashes += 1;
    this.stats.reportsLostInCrashes += this.pending.length;
    this.pending = [];
    this.#life = this.#newLife();
    await this.#life.twins.start(this.#edgeHeld === undefined ? [] : [this.#edgeHeld], modelOf);
  }

  /**
   * Faults stop: the link comes back and the world runs until quiet (nothing left to send either
   * way). Throws when it does not get quiet within the bound: convergence must not need luck.
   */
  async heal(): Promise<void> {
    this.reconnect();
    for (let round = 0; round < HEAL_ROUNDS_MAX; round++) {
      await settle();
      this.flushOutbox();
      const before = { durable: this.durable.length, status: JSON.stringify(this.device['status'] ?? null) };
      await this.deliverDown();
      await settle();
      this.flushOutbox();
      this.deliverUp(Number.MAX_SAFE_INTEGER);
      const quiet = this.durable.length === before.durable && JSON.stringify(this.device['status'] ?? null) === before.status && this.pending.length === 0;
      if (quiet && round > 0) return;
    }
    throw new Error(`the world was not quiet after ${HEAL_ROUNDS_MAX} heal rounds`);
  }

  /** Applies outbox entry `seq` with the cloud's planner; a write is a merge patch of status at the read resourceVersion. */
  #applyUp(seq: number): void {
    const event = this.durable[seq - 1]!;
    const parsed = event.type === TWIN_REPORTED ? parseTwinReport(event.data) : event.type === DEVICE_STATE_REPORTED ? parseStateReport(event.data) : undefined;
    if (parsed === undefined) throw new Error(`the twin host reported an event of type ${event.type}`);
    if (!parsed.ok) throw new Error(`the twin host reported a malformed ${event.type}: ${parsed.error}`);
    const plan = planDeviceStatus(jobOf(NODE, { journalId: JOURNAL_ID, seq }, parsed.value), this.device);
    if (plan.kind === 'askLineage') throw new Error('one journal never needs its lineage');
    if (plan.kind === 'skip') {
      if (plan.skip.kind !== 'stale') throw new Error(`a report of the bound Device was skipped as ${plan.skip.kind}`);
      this.stats.staleReportsSkipped += 1;
      return;
    }
    const metadata = this.device['metadata'] as JsonObject;
    if (plan.resourceVersion !== metadata['resourceVersion']) throw new Error('the plan read another revision than the one it writes over');
    const status = mergePatch(this.device['status'], plan.status);
    this.device = { ...this.device, metadata: { ...metadata, resourceVersion: this.#nextResourceVersion() }, status };
    this.stats.statusWrites += 1;
  }

  /** Hands one MQTT publish to the twin host as the EventBus does; returns the answers on `answerTopic` for `event_id`. */
  async #mqtt(topic: string, payload: JsonObject, answerTopic: string, event_id: string): Promise<JsonObject[]> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed.ok) throw new Error(parsed.error);
    const life = this.#life;
    await life.twins.handle({ topic: parsed.value, rawTopic: topic, payload: ok(payload) });
    return life.published.filter((p) => p.topic === answerTopic && p.body['event_id'] === event_id).map((p) => p.body);
  }

  #newLife(): EdgeLife {
    this.#lives += 1;
    const published: EdgeLife['published'] = [];
    const warnings: string[] = [];
    const life: { alive: boolean } = { alive: true };
    const ids = new SequentialIds(`life-${this.#lives}`);
    const host = new ActorHost({ store: storeOfLife(this.#journal, life), clock: this.#clock, ids, origin: NODE, ...(this.#snapshotEveryEvents === undefined ? {} : { snapshotEveryEvents: this.#snapshotEveryEvents }) });
    const twins = new DeviceTwinHost({
      nodeName: NODE,
      host,
      // The outbox: a dead process commits nothing more.
      report: (events) => {
        if (life.alive) this.pending.push(...structuredClone(events));
        return Promise.resolve(undefined);
      },
      publish: (topic, payload) => {
        if (life.alive) published.push({ topic, body: JSON.parse(payload) as JsonObject });
      },
      clock: this.#clock,
      ids,
      log: { info: () => undefined, warn: (fields, msg) => void warnings.push(`${msg} ${JSON.stringify(fields)}`) },
    });
    return Object.assign(life, { twins, published, warnings });
  }

  /** The Device as down carries it: without status and resourceVersion (PROTOCOL.md, Down). */
  #desiredContent(): JsonObject {
    const { status: _status, ...content } = this.device;
    const { resourceVersion: _resourceVersion, ...metadata } = content['metadata'] as JsonObject;
    return structuredClone({ ...content, metadata });
  }

  #nextResourceVersion(): string {
    this.#resourceVersion += 1;
    return String(this.#resourceVersion);
  }

  #tick(): void {
    this.#clock.advance(STEP_MS);
  }
}

/**
 * What is wrong with a healed world, in words (empty when it converged): the twin's expected values
 * are the Device's desired ones, the Device's `status.twins[]` show the twin (reported = actual,
 * observedDesired = expected), each actual value is the mapper's last accepted one, the cloud applied
 * the whole outbox, and no re-applied report changed the status.
 */
export function convergenceFailures(world: TwinWorld): string[] {
  const failures: string[] = [...world.duplicateChanges];
  const twins = world.twins();
  if (twins.length !== 1) return [...failures, `the edge holds ${twins.length} twins, not 1`];
  const twin = twins[0]!;
  if (world.pending.length > 0 || world.upApplied !== world.durable.length) failures.push(`up not drained: applied ${world.upApplied} of ${world.durable.length}, ${world.pending.length} uncommitted`);
  const status = world.device['status'];
  const entries = (isJsonObject(status) && Array.isArray(status['twins']) ? status['twins'] : []) as { propertyName?: string; reported?: { value?: string }; observedDesired?: { value?: string } }[];
  for (const { name } of PROPERTIES) {
    const held = twin.properties[name];
    if (held === undefined) {
      failures.push(`${name}: not in the twin`);
      continue;
    }
    const desired = world.desiredOf(name);
    if (held.expected !== desired) failures.push(`${name}: twin expected ${held.expected} but the Device desires ${desired}`);
    const mapper = world.mapperLast.get(name) ?? null;
    if (held.actual !== mapper) failures.push(`${name}: twin actual ${held.actual} but the mapper's last accepted value is ${mapper}`);
    const entry = entries.find((e) => e.propertyName === name);
    const reported = entry?.reported?.value ?? null;
    // An empty observedDesired is "no expectation" (the writer keeps an entry per live property to carry its fence).
    const observedDesired = entry?.observedDesired?.value === '' ? null : (entry?.observedDesired?.value ?? null);
    if (reported !== held.actual) failures.push(`${name}: status reported ${reported} but the twin's actual is ${held.actual}`);
    if (observedDesired !== held.expected) failures.push(`${name}: status observedDesired ${observedDesired} but the twin's expected is ${held.expected}`);
  }
  const statusState = isJsonObject(status) && typeof status['state'] === 'string' ? status['state'] : 'unknown';
  if (statusState !== twin.state) failures.push(`status.state ${statusState} but the twin's state is ${twin.state}`);
  if (world.mapperState !== undefined && twin.state !== world.mapperState) failures.push(`twin state ${twin.state} but the mapper last reported ${world.mapperState}`);
  return failures;
}

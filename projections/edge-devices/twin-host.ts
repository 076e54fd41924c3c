// The edge's DeviceTwin module: one journaled twin actor per Device the cloud binds to this node,
// serving KubeEdge's MQTT twin topics from the journal (so it keeps answering while the cloud is
// away) and reporting every accepted change up through the outbox. Level-based like the pod
// supervisor: `reconcile` takes the whole set of held Devices and converges on it.
import { assertNever, err, isJsonObject, type Clock, type Ids, type JsonObject, type Result } from '../../kernel/index.js';
import { deltaOf, twinForMqtt, twinKind, twinStream, type ActorHost, type DeviceRef, type ExecuteError, type Executed, type JournaledActor, type TwinCommand, type TwinEvent, type TwinRejection, type TwinState } from '../../actors/index.js';
import { deviceTopics, type DeviceId, type InboundDeviceMessage, type UpEvent } from '../../transport/index.js';
import { addDeviceCommand, cloudSyncCommand, declarationSignature, readDevice, type HeldDevice } from './device-translation.js';
import {
  decodeTwinRequest,
  deltaNotice,
  documentNotice,
  errorResult,
  getNotFound,
  getResult,
  membershipGetResult,
  membershipUpdated,
  stateUpdateResult,
  updateNotFound,
  updateResult,
  type MemberDevice,
  type MqttTwin,
  type Outbound,
  type StoredTwin,
  type TwinRequest,
} from './twin-messages.js';
import { deviceStateReported, twinReported } from './twin-reports.js';

/** Devices one node holds twins of; Devices beyond it are left out, with a warning. */
export const TWIN_DEVICES_MAX = 10_000;
/** MQTT messages waiting for one device; more are answered with 429. */
export const TWIN_MAILBOX_MESSAGES_MAX = 100;
/** MQTT messages waiting for all devices together; more are answered with 429. */
export const TWIN_MESSAGES_WAITING_MAX = 10_000;

/** What the twin host needs: its node, the journal's actor host, and the ports to the cloud, MQTT, time and ids. */
export interface DeviceTwinHostOptions {
  readonly nodeName: string;
  /** Journals the twin actors (stream `twinStream(ns, name, uid)`). */
  readonly host: ActorHost;
  /** EdgeHub.report: journaled in the outbox, goes up when linked (may reject or resolve err: logged). */
  readonly report: (events: readonly UpEvent[]) => Promise<unknown>;
  /** Fire-and-forget MQTT publish (QoS 1) through the EventBus. */
  readonly publish: (topic: string, payload: string) => void;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: { info(fields: object, msg: string): void; warn(fields: object, msg: string): void };
}

type TwinActor = JournaledActor<typeof twinKind.machine, TwinEvent, TwinCommand, TwinRejection, TwinState>;
type PresentTwin = Extract<TwinState, { readonly status: 'synced' | 'drifted' }>;

/** One device's twin as the host holds it. */
interface HeldTwin {
  readonly ref: DeviceRef;
  readonly actor: TwinActor;
  readonly reports: ReportLane;
  description: string;
  /** The declaration last synced or tried (`declarationSignature`), so an unchanged Device costs nothing. */
  declared: string | undefined;
  /** Publishes held back while the twin is being added: the mapper hears of the device (membership) first. */
  heldBack: Outbound[] | undefined;
}

/** One device's MQTT messages, served one at a time in arrival order. */
interface Mailbox {
  tail: Promise<void>;
  waiting: number;
}

/** A twin status line for `edgehive status`. */
export interface TwinSummary {
  readonly id: string;
  readonly state: string;
  readonly properties: Readonly<Record<string, { readonly expected: string | null; readonly actual: string | null }>>;
}

const isPresent = (state: TwinState): state is PresentTwin => state.status === 'synced' || state.status === 'drifted';
const nameKey = (device: DeviceId): string => `${device.namespace}/${device.name}`;
// Causes journaled with twin events, so `edgehive replay` can say which message made a twin so.
/** A cloud sync or add is caused by the Device at its generation (the twin's cloud version). */
const deviceCause = (device: HeldDevice): { readonly causationId: string } => ({ causationId: `device:${device.ref.uid}@${device.generation}` });
/** An edge update is caused by one MQTT message: its topic and `event_id`. */
const mqttCause = (topic: string, eventId: string): { readonly causationId: string } => ({ causationId: `mqtt:${topic}#${eventId}` });

/**
 * Up reports of one device, serialized so they leave in the order the changes were journaled, and
 * coalesced: a report reads the twin when it is sent, so one pending report covers any number of
 * changes (each report is the whole twin, level-based).
 */
class ReportLane {
  #twinDue = false;
  #stateDue = false;
  #draining: Promise<void> | undefined;

  constructor(private readonly send: (due: { readonly twin: boolean; readonly state: boolean }) => Promise<void>) {}

  request(what: 'twin' | 'state'): void {
    if (what === 'twin') this.#twinDue = true;
    else this.#stateDue = true;
    // Started a microtask later: an effect requests a report while the actor is still applying the
    // event, and the report must read the twin after it.
    this.#draining ??= Promise.resolve().then(() => this.#drain());
  }

  /** Resolves once every requested report has been handed to `report`. */
  settled(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#twinDue || this.#stateDue) {
        const due = { twin: this.#twinDue, state: this.#stateDue };
        this.#twinDue = false;
        this.#stateDue = false;
        await this.send(due);
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

/**
 * Serves device twins on this node.
 * @example
 * const twins = new DeviceTwinHost({ nodeName, host, report: (e) => hub.report(e), publish, clock, ids, log });
 * await twins.start(view.devices(), (ns, name) => view.deviceModel(ns, name));
 * bus.on('device', (message) => void twins.handle(message));
 */
export class DeviceTwinHost {
  readonly #options: DeviceTwinHostOptions;
  readonly #twins = new Map<string, HeldTwin>();
  /** `<ns>/<name>` → uid: MQTT topics name devices, streams are keyed by uid. */
  readonly #uidByName = new Map<string, string>();
  readonly #mailboxes = new Map<string, Mailbox>();
  #waiting = 0;
  #reconciling: Promise<void> = Promise.resolve();
  /** While `start` runs: twins whose delta a sync already published, so start does not repeat it. */
  #deltaSent: Set<string> | undefined;
  #stopped = false;
  /** Resolves once `start` has rebuilt the twins: MQTT messages arriving earlier wait for it, instead of a false 404. */
  readonly #ready: Promise<void>;
  #markReady: () => void = () => undefined;

  constructor(options: DeviceTwinHostOptions) {
    this.#options = options;
    this.#ready = new Promise((resolve) => (this.#markReady = resolve));
  }

  /** Rebuilds the twins of the held devices from the journal, then reconciles; reports every present twin (TWIN_REPORTED) once and publishes a delta for each drifted twin. */
  async start(devices: readonly JsonObject[], model: (namespace: string, name: string) => JsonObject | undefined): Promise<void> {
    this.#deltaSent = new Set();
    try {
      await this.reconcile(devices, model);
      // A crash between journaling a change and reporting it loses nothing: the whole twin goes up again.
      this.reportAll();
      for (const [uid, held] of this.#twins) {
        const state = held.actor.state;
        if (isPresent(state) && state.status === 'drifted' && !this.#deltaSent.has(uid)) this.#publish(uid, this.#deltaOf(state));
      }
    } finally {
      this.#deltaSent = undefined;
      this.#markReady();
    }
  }

  /**
   * Reports every present twin and its state up again: after a start, and after a full resync,
   * where the cloud may lack the history below the edge's outbox floor. A state no mapper reported
   * yet goes up too (`unknown`): the Device's status may hold another node's, or a restored one.
   */
  reportAll(): void {
    for (const held of this.#twins.values()) {
      if (!isPresent(held.actor.state)) continue;
      held.reports.request('twin');
      held.reports.request('state');
    }
  }

  /** The held Devices/DeviceModels changed (desired commit): add / sync / remove twins. Calls are serialized. */
  reconcile(devices: readonly JsonObject[], model: (namespace: string, name: string) => JsonObject | undefined): Promise<void> {
    this.#reconciling = this.#reconciling
      .then(() => this.#reconcile(devices, model))
      .catch((error: unknown) => this.#options.log.warn({ error: (error as Error).message }, 'device twin reconcile failed'));
    return this.#reconciling;
  }

  /** One MQTT message from the EventBus; always answers per KubeEdge (result topics), never throws. */
  async handle(message: InboundDeviceMessage): Promise<void> {
    try {
      await this.#ready;
      const decoded = decodeTwinRequest(message);
      if (!decoded.ok) {
        if (decoded.error.kind === 'BadRequest') this.#send(errorResult(decoded.error.answerTopic, decoded.error.event_id, this.#now(), decoded.error.code, decoded.error.reason));
        return;
      }
      const request = decoded.value;
      if (this.#stopped) {
        this.#send(errorResult(this.#answerTopic(request), request.event_id, this.#now(), 503, 'the device twin module is stopping'));
        return;
      }
      if (request.kind === 'membershipGet') return this.#membershipGet(request);
      await this.#enqueue(request);
    } catch (error) {
      this.#options.log.warn({ topic: message.rawTopic.slice(0, 256), error: (error as Error).message }, 'device message not served');
    }
  }

  /** For `edgehive status`: each twin's device id, state, and per property expected/actual values. */
  twins(): readonly TwinSummary[] {
    return [...this.#twins.values()].flatMap((held) => {
      const state = held.actor.state;
      if (!isPresent(state)) return [];
      const properties = Object.fromEntries(Object.entries(twinForMqtt(state)).map(([k, t]) => [k, { expected: t.expected?.value ?? null, actual: t.actual?.value ?? null }]));
      return [{ id: nameKey(held.ref), state: state.state, properties }];
    });
  }

  /** Stops serving: waits for the reconcile, the queued messages and the reports in flight, then stops the actors. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reconciling;
    await Promise.all([...this.#mailboxes.values()].map((m) => m.tail));
    await Promise.all([...this.#twins.values()].map((held) => held.reports.settled()));
    for (const held of this.#twins.values()) held.actor.stop();
    this.#twins.clear();
    this.#uidByName.clear();
  }

  async #reconcile(devices: readonly JsonObject[], model: (namespace: string, name: string) => JsonObject | undefined): Promise<void> {
    if (this.#stopped) return;
    const wanted = this.#wantedDevices(devices);
    // Removals first, so a Device re-created under the same name (a new uid) replaces its predecessor.
    for (const uid of [...this.#twins.keys()]) if (!wanted.has(uid)) await this.#remove(uid);
    for (const [uid, device] of wanted) {
      if (this.#stopped) return;
      const held = this.#twins.get(uid) ?? (await this.#open(device));
      if (held === undefined) continue;
      held.description = device.description;
      await this.#converge(held, device, device.modelName === '' ? undefined : model(device.ref.namespace, device.modelName));
    }
  }

  /** The Devices bound to this node, by uid, bounded by `TWIN_DEVICES_MAX`. */
  #wantedDevices(devices: readonly JsonObject[]): Map<string, HeldDevice> {
    const wanted = new Map<string, HeldDevice>();
    const names = new Set<string>();
    let leftOut = 0;
    for (const object of devices) {
      const read = readDevice(object);
      if (!read.ok) {
        this.#options.log.warn({ reason: read.error }, 'a Device was not read');
        continue;
      }
      const device = read.value;
      if (device.nodeName !== undefined && device.nodeName !== this.#options.nodeName) continue;
      if (names.has(nameKey(device.ref))) continue;
      if (wanted.size >= TWIN_DEVICES_MAX) {
        leftOut += 1;
        continue;
      }
      names.add(nameKey(device.ref));
      wanted.set(device.ref.uid, device);
    }
    if (leftOut > 0) this.#options.log.warn({ leftOut, limit: TWIN_DEVICES_MAX }, 'more Devices than this node holds twins of; some have none');
    return wanted;
  }

  /** Rebuilds (or creates) the actor of a Device's twin from its stream; no effect runs while folding. */
  async #open(device: HeldDevice): Promise<HeldTwin | undefined> {
    const { namespace, name, uid } = device.ref;
    const started = await this.#options.host.start(twinKind, twinStream(namespace, name, uid), this.#effects(uid));
    if (!started.ok) {
      this.#options.log.warn({ device: nameKey(device.ref), error: started.error.kind }, 'device twin could not be rebuilt');
      return undefined;
    }
    const held: HeldTwin = { ref: device.ref, actor: started.value, reports: new ReportLane((due) => this.#sendReports(uid, due)), description: device.description, declared: undefined, heldBack: undefined };
    this.#twins.set(uid, held);
    this.#uidByName.set(nameKey(device.ref), uid);
    return held;
  }

  /** Adds the twin if the journal has none, else syncs what the cloud declares now when it changed. */
  async #converge(held: HeldTwin, device: HeldDevice, model: JsonObject | undefined): Promise<void> {
    const signature = declarationSignature(device, model);
    if (signature === held.declared) return;
    held.declared = signature;
    const state = held.actor.state;
    if (!isPresent(state)) return this.#add(held, device, model);
    const synced = await this.#execute(held, cloudSyncCommand(device, model, state.twin, this.#now()), deviceCause(device));
    if (!synced.ok) {
      // Not marked done: the next reconcile (the next desired commit, or a restart) tries again.
      held.declared = undefined;
      this.#options.log.warn({ device: nameKey(device.ref), error: describeExecuteError(synced.error) }, 'cloud values not synced to the twin');
    } else if (synced.value.events.length > 0) held.reports.request('twin');
  }

  async #add(held: HeldTwin, device: HeldDevice, model: JsonObject | undefined): Promise<void> {
    held.heldBack = [];
    const added = await this.#execute(held, addDeviceCommand(device, model, this.#now()), deviceCause(device));
    const heldBack = held.heldBack;
    held.heldBack = undefined;
    if (!added.ok) {
      held.declared = undefined;
      this.#options.log.warn({ device: nameKey(device.ref), error: describeExecuteError(added.error) }, 'device twin not added');
      return;
    }
    this.#send(membershipUpdated(this.#options.nodeName, this.#options.ids.next(), this.#now(), [this.#member(held)], []));
    for (const outbound of heldBack) this.#send(outbound);
    // The state too: a Device moved here keeps its old node's state in its status until this one's
    // replaces it (found by the whole-system simulator: `offline` in the API, `unknown` here).
    held.reports.request('twin');
    held.reports.request('state');
  }

  async #remove(uid: string): Promise<void> {
    const held = this.#twins.get(uid);
    if (held === undefined) return;
    const removed = await this.#execute(held, { type: 'RemoveDevice', data: { at: this.#now() } });
    if (!removed.ok) this.#options.log.warn({ device: nameKey(held.ref), error: describeExecuteError(removed.error) }, 'device twin removal not journaled');
    const member = this.#member(held);
    held.actor.stop();
    this.#twins.delete(uid);
    if (this.#uidByName.get(nameKey(held.ref)) === uid) this.#uidByName.delete(nameKey(held.ref));
    this.#send(membershipUpdated(this.#options.nodeName, this.#options.ids.next(), this.#now(), [], [member]));
  }

  /** Runs `request` after the messages already waiting for its device, or answers 429 when too many wait. */
  #enqueue(request: Exclude<TwinRequest, { kind: 'membershipGet' }>): Promise<void> {
    const key = nameKey(request.device);
    const mailbox = this.#mailboxes.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
    if (mailbox.waiting >= TWIN_MAILBOX_MESSAGES_MAX || this.#waiting >= TWIN_MESSAGES_WAITING_MAX) {
      const limit = mailbox.waiting >= TWIN_MAILBOX_MESSAGES_MAX ? `${TWIN_MAILBOX_MESSAGES_MAX} for device ${key}` : `${TWIN_MESSAGES_WAITING_MAX} for all devices`;
      this.#send(errorResult(this.#answerTopic(request), request.event_id, this.#now(), 429, `too many messages waiting (limit ${limit}); retry later`));
      return Promise.resolve();
    }
    mailbox.waiting += 1;
    this.#waiting += 1;
    this.#mailboxes.set(key, mailbox);
    const run = mailbox.tail.then(() => this.#serve(request));
    mailbox.tail = run
      .catch((error: unknown) => this.#options.log.warn({ device: key, error: (error as Error).message }, 'device message failed'))
      .finally(() => {
        mailbox.waiting -= 1;
        this.#waiting -= 1;
        if (mailbox.waiting === 0 && this.#mailboxes.get(key) === mailbox) this.#mailboxes.delete(key);
      });
    return mailbox.tail;
  }

  async #serve(request: Exclude<TwinRequest, { kind: 'membershipGet' }>): Promise<void> {
    const uid = this.#uidByName.get(nameKey(request.device));
    const held = uid === undefined ? undefined : this.#twins.get(uid);
    switch (request.kind) {
      case 'twinGet': {
        const state = held?.actor.state;
        this.#send(state !== undefined && isPresent(state) ? getResult(request.device, request.event_id, this.#now(), twinForMqtt(state)) : getNotFound(request.device, request.event_id, this.#now()));
        return;
      }
      case 'twinUpdate':
        return this.#updateTwin(held, request);
      case 'stateUpdate':
        return this.#updateState(held, request);
    }
  }

  async #updateTwin(held: HeldTwin | undefined, request: Extract<TwinRequest, { kind: 'twinUpdate' }>): Promise<void> {
    const { device, event_id } = request;
    if (held === undefined) return this.#send(updateNotFound(device, event_id, this.#now()));
    const updated = await this.#execute(held, { type: 'UpdateTwinFromEdge', data: { event_id, twin: request.twin, at: this.#now() } }, mqttCause(deviceTopics.twinUpdate(device), event_id));
    // The accepted update's result, document, delta and report are the machine's effects.
    if (updated.ok) {
      if (updated.value.events.length === 0) this.#send(updateResult(device, event_id, this.#now(), {}));
      return;
    }
    const error = updated.error;
    if (error.kind === 'ActorStopped' || (error.kind === 'Rejected' && error.rejection.kind === 'DeviceNotFound')) return this.#send(updateNotFound(device, event_id, this.#now()));
    const { code, reason } = answerOf(error);
    this.#send(errorResult(deviceTopics.updateResult(device), event_id, this.#now(), code, reason));
  }

  async #updateState(held: HeldTwin | undefined, request: Extract<TwinRequest, { kind: 'stateUpdate' }>): Promise<void> {
    const { device, event_id } = request;
    const command: TwinCommand = { type: 'ReportDeviceState', data: { state: request.state, at: this.#now() } };
    const notFound = (): void => this.#send(errorResult(deviceTopics.stateUpdateResult(device), event_id, this.#now(), 404, `Device ${nameKey(device)} not found`));
    // An unknown state is dropped without a reply (rule 49), whether or not the device is here.
    const dropped = (): void => this.#options.log.info({ device: nameKey(device), state: request.state.slice(0, 64) }, 'unknown device state dropped');
    if (held === undefined) {
      const decided = twinKind.decide(command, { status: 'absent' });
      return !decided.ok && decided.error.kind === 'UnknownDeviceState' ? dropped() : notFound();
    }
    const updated = await this.#execute(held, command, mqttCause(deviceTopics.stateUpdate(device), event_id));
    if (!updated.ok) {
      const error = updated.error;
      if (error.kind === 'Rejected' && error.rejection.kind === 'UnknownDeviceState') return dropped();
      if (error.kind === 'ActorStopped' || (error.kind === 'Rejected' && error.rejection.kind === 'DeviceNotFound')) return notFound();
      const { code, reason } = answerOf(error);
      return this.#send(errorResult(deviceTopics.stateUpdateResult(device), event_id, this.#now(), code, reason));
    }
    const state = held.actor.state;
    if (!isPresent(state)) return notFound();
    this.#send(stateUpdateResult(device, event_id, this.#now(), state.state, state.last_online));
  }

  #membershipGet(request: Extract<TwinRequest, { kind: 'membershipGet' }>): void {
    if (request.node !== this.#options.nodeName) {
      this.#options.log.warn({ node: request.node.slice(0, 256) }, 'membership asked of another node; not answered');
      return;
    }
    const members = [...this.#twins.values()].filter((held) => isPresent(held.actor.state)).map((held) => this.#member(held));
    this.#send(membershipGetResult(this.#options.nodeName, request.event_id, this.#now(), members));
  }

  #member(held: HeldTwin): MemberDevice {
    const state = held.actor.state;
    return { namespace: held.ref.namespace, name: held.ref.name, description: held.description, state: isPresent(state) ? state.state : 'unknown', last_online: isPresent(state) ? state.last_online : '' };
  }

  /** Executes a command on a twin; a journal failure (a thrown store error) becomes an error value like the others. */
  async #execute(held: HeldTwin, command: TwinCommand, cause: { readonly causationId?: string } = {}): Promise<Result<Executed<TwinEvent>, TwinExecuteError>> {
    try {
      return await held.actor.execute(command, cause);
    } catch (error) {
      return err({ kind: 'JournalFailed', message: (error as Error).message });
    }
  }

  /** The twin machine's effects for the twin of `uid`: MQTT publishes and up reports. */
  #effects(uid: string) {
    return {
      actions: {
        publishResult: (_: unknown, p: { device: DeviceId; event_id: string; twin: { readonly [key: string]: MqttTwin | null } }) => this.#publish(uid, updateResult(p.device, p.event_id, this.#now(), p.twin)),
        publishDocument: (_: unknown, p: { device: DeviceId; twin: { readonly [key: string]: { readonly last: StoredTwin | null; readonly current: StoredTwin | null } } }) =>
          this.#publish(uid, documentNotice(p.device, this.#options.ids.next(), this.#now(), p.twin)),
        publishDelta: (_: unknown, p: { device: DeviceId; twin: { readonly [key: string]: MqttTwin }; delta: { readonly [key: string]: string } }) => {
          this.#deltaSent?.add(uid);
          this.#publish(uid, deltaNotice(p.device, this.#options.ids.next(), this.#now(), p.twin, p.delta));
        },
        // Reports are read from the twin when sent (the whole twin), so the changed keys are not needed.
        reportToCloud: () => this.#twins.get(uid)?.reports.request('twin'),
        reportStateToCloud: () => this.#twins.get(uid)?.reports.request('state'),
      },
    } as never;
  }

  /** Sends the due reports of one twin, built from its state now; a failure is logged (start() reports again). */
  async #sendReports(uid: string, due: { readonly twin: boolean; readonly state: boolean }): Promise<void> {
    const state = this.#twins.get(uid)?.actor.state;
    if (state === undefined || !isPresent(state)) return;
    const events: UpEvent[] = [];
    if (due.twin) events.push(twinReported(state, this.#options.ids.next(), this.#now()));
    if (due.state) events.push(deviceStateReported(state, this.#options.ids.next(), this.#now()));
    try {
      const reported = await this.#options.report(events);
      if (isJsonObject(reported) && reported['ok'] === false) this.#options.log.warn({ device: nameKey(state.device), error: reported['error'] }, 'twin report not journaled');
    } catch (error) {
      this.#options.log.warn({ device: nameKey(state.device), error: (error as Error).message }, 'twin report failed');
    }
  }

  /** `…/twin/update/delta` of a drifted twin, as the machine's delta effect builds it. */
  #deltaOf(state: PresentTwin): Outbound {
    const withExpectation = Object.entries(twinForMqtt(state)).filter(([, t]) => t.expected !== null && t.expected.value !== '');
    return deltaNotice(state.device, this.#options.ids.next(), this.#now(), Object.fromEntries(withExpectation), deltaOf(state));
  }

  /** Publishes for the twin of `uid`, or holds the message back while that twin is being added. */
  #publish(uid: string, outbound: Outbound): void {
    const heldBack = this.#twins.get(uid)?.heldBack;
    if (heldBack !== undefined) heldBack.push(outbound);
    else this.#send(outbound);
  }

  #send(outbound: Outbound): void {
    try {
      this.#options.publish(outbound.topic, JSON.stringify(outbound.body));
    } catch (error) {
      this.#options.log.warn({ topic: outbound.topic, error: (error as Error).message }, 'MQTT publish failed');
    }
  }

  #answerTopic(request: TwinRequest): string {
    switch (request.kind) {
      case 'twinUpdate':
        return deviceTopics.updateResult(request.device);
      case 'twinGet':
        return deviceTopics.getResult(request.device);
      case 'stateUpdate':
        return deviceTopics.stateUpdateResult(request.device);
      case 'membershipGet':
        return deviceTopics.membershipGetResult(request.node);
    }
  }

  #now(): number {
    return this.#options.clock.nowMs();
  }
}

/** Why a twin command recorded nothing: the host's errors plus a store that threw. */
type TwinExecuteError = ExecuteError<TwinRejection> | { readonly kind: 'JournalFailed'; readonly message: string };

/** The code and reason an MQTT result carries for an error (KubeEdge's 400/404/500, and 429 for a full mailbox). */
function answerOf(error: TwinExecuteError): { readonly code: number; readonly reason: string } {
  switch (error.kind) {
    case 'Rejected':
      return rejectionAnswer(error.rejection);
    case 'MailboxFull':
      return { code: 429, reason: `too many messages waiting (limit ${error.limit}); retry later` };
    case 'ActorStopped':
      return { code: 404, reason: 'the device left this node' };
    case 'WrongExpectedVersion':
      return { code: 500, reason: 'the twin changed elsewhere; retry' };
    case 'JournalFailed':
      return { code: 500, reason: `the twin could not be stored: ${error.message}` };
    default:
      return assertNever(error);
  }
}

function rejectionAnswer(rejection: TwinRejection): { readonly code: number; readonly reason: string } {
  switch (rejection.kind) {
    case 'DeviceNotFound':
    case 'BadRequest':
      return { code: rejection.code, reason: rejection.reason };
    case 'VersionRequired':
      return { code: 400, reason: `twin ${rejection.key} needs a version` };
    case 'UnknownDeviceState':
      return { code: 400, reason: `the device state ${JSON.stringify(rejection.state.slice(0, 64))} is not allowed` };
    case 'DeviceAlreadyAdded':
      return { code: 409, reason: 'the device was already added' };
    case 'InvalidTime':
      return { code: 500, reason: `the edge clock gave an invalid time (${rejection.at})` };
    default:
      return assertNever(rejection);
  }
}

/** A log line's account of an error. */
function describeExecuteError(error: TwinExecuteError): string {
  const { code, reason } = answerOf(error);
  return `${error.kind} ${code}: ${reason}`;
}

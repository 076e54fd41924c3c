// The edge applications of one simulated edge process life: its pod actors (production
// PodSupervisor) and its device twins (production DeviceTwinHost), synchronous on SimulatedTime but
// deciding, evolving and reporting with the production pieces: the pod and twin kinds (decide,
// decodeEvent, machine, stateOf), XState's pure `transition` for the effects each event implies,
// the pod and device translations, the MQTT payload parser and the report builders.
import { transition, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import {
  foldEvents,
  podKind,
  podStream,
  twinForMqtt,
  twinKind,
  twinStream,
  type ActorKind,
  type DeviceRef,
  type DomainEvent,
  type PodCommand,
  type PodEvent,
  type PodRejection,
  type PodState,
  type PresentPodState,
  type TwinCommand,
  type TwinEvent,
  type TwinRejection,
  type TwinState,
} from '../actors/index.js';
import type { Decision, JsonObject } from '../kernel/index.js';
import { POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED, TWIN_DEVICES_MAX } from '../projections/index.js';
import { addDeviceCommand, cloudSyncCommand, declarationSignature, modelPropertyTypes, readDevice, type HeldDevice } from '../projections/edge-devices/device-translation.js';
import { decodeTwinRequest } from '../projections/edge-devices/twin-messages.js';
import { deviceStateReported, twinReported } from '../projections/edge-devices/twin-reports.js';
import { imagesOf, kubePodStatusOf, podSpecInputOf } from '../projections/edge-pods/pod-translation.js';
import { podMetaOf } from '../projections/edge-pods/pod-supervisor.js';
import { deviceTopics, MQTT_PAYLOAD_BYTES_MAX_DEFAULT, parseDeviceTopic, type UpEvent } from '../transport/index.js';
import { readInboundPayload } from '../transport/mqtt/event-bus.js';
import type { SimExit, SimProcess, SimulatedRuntime } from './system-runtime.testing.js';
import type { EdgeAppsPorts, HeldContent } from './system-ports.testing.js';
import type { TimerHandle } from './simulated-time.testing.js';

/** The pods' IP: host network, as production's edge (cmd/edge/edge.ts HOST_IP). */
export const EDGE_HOST_IP = '127.0.0.1';
/** Commands one actor may have decided but not yet applied (production ActorHost's mailboxCommandsMax default). */
export const ACTOR_PENDING_COMMANDS_MAX = 1000;

/** A pod of this edge life, as its actor has applied it. */
export interface SimPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly state: PodState;
  /** kubePodStatusOf(state…), what the edge reports; undefined once termination completed */
  readonly status: JsonObject | undefined;
}

/** A twin of this edge life, as its actor has applied it. */
export interface SimTwin {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** per live property: expected (desired) value and actual (reported) value, null when none */
  readonly properties: Readonly<Record<string, { readonly expected: string | null; readonly actual: string | null }>>;
  /** The device's state as its mapper last reported it (`unknown` before any report). */
  readonly state: string;
}

/** What a mapper's twin update came to: answered accepted, answered with an error, or answered 404 (no such twin here). */
export type MapperAnswer = 'accepted' | 'refused' | 'unknown';

type AnyKind<TMachine extends AnyStateMachine, TEvent extends DomainEvent, TCommand extends { readonly type: string }, TRejection extends { readonly kind: string }, TState extends { readonly status: string }> =
  ActorKind<TMachine, TEvent, TCommand, TRejection, TState>;
type Effect = { readonly type: string; readonly params: unknown };

/**
 * One journaled actor of this life, as production's JournaledActor: a command is decided, its
 * events appended (one commit), and only once that commit is durable are they applied through the
 * machine, one by one, each event's effects running right after it (XState updates the snapshot
 * before running deferred actions). Commands are decided in arrival order on the state their
 * predecessors decided (write-ahead pipelining: the actor is the only writer of its stream, so this
 * decides exactly what production's one-at-a-time mailbox decides); continuations run in order.
 */
class SimActor<TMachine extends AnyStateMachine, TEvent extends DomainEvent, TCommand extends { readonly type: string }, TRejection extends { readonly kind: string }, TState extends { readonly status: string }> {
  #decided: SnapshotFrom<TMachine>;
  #applied: SnapshotFrom<TMachine>;
  readonly #queue: { readonly events: readonly TEvent[]; durable: boolean; readonly then: () => void }[] = [];
  readonly #idle: (() => void)[] = [];
  #drainScheduled = false;
  #draining = false;

  constructor(
    private readonly kind: AnyKind<TMachine, TEvent, TCommand, TRejection, TState>,
    readonly stream: string,
    snapshot: SnapshotFrom<TMachine>,
    private readonly ports: EdgeAppsPorts,
    private readonly perform: (effect: Effect) => void,
  ) {
    this.#decided = snapshot;
    this.#applied = snapshot;
  }

  /** What the actor has applied (durable and acted on): what production's `actor.state` shows. */
  get state(): TState {
    return this.kind.stateOf(this.#applied);
  }

  /** What the actor has decided, commits in flight included: what the next command is decided on. */
  get decidedState(): TState {
    return this.kind.stateOf(this.#decided);
  }

  /** Decides `command` now; `then` runs once it and every command before it have been applied (or refused). */
  execute(command: TCommand, then: (decision: Decision<TEvent, TRejection>) => void = () => undefined): Decision<TEvent, TRejection> {
    if (this.#queue.length >= ACTOR_PENDING_COMMANDS_MAX) this.ports.violation(`${this.stream}: more than ${ACTOR_PENDING_COMMANDS_MAX} commands pending`);
    const decision = this.kind.decide(command, this.decidedState);
    const events = decision.ok ? decision.value : [];
    const entry = { events, durable: events.length === 0, then: () => then(decision) };
    this.#queue.push(entry);
    if (events.length === 0) {
      this.#scheduleDrain();
      return decision;
    }
    this.#decided = foldEvents(this.kind.machine, events, this.#decided);
    this.ports.journal.append(this.stream, events as readonly DomainEvent[], () => {
      entry.durable = true;
      this.#drain();
    });
    return decision;
  }

  /** Runs `run` once nothing is pending (at once when nothing is). */
  whenIdle(run: () => void): void {
    if (this.#queue.length === 0) run();
    else this.#idle.push(run);
  }

  // Continuations of commands that journaled nothing run one event later, as production's awaits do.
  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    this.ports.time.schedule(0, this.ports.life, () => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue[0]?.durable === true) {
        const entry = this.#queue.shift()!;
        for (const event of entry.events) {
          const [next, actions] = transition(this.kind.machine, this.#applied, event as never);
          this.#applied = next as SnapshotFrom<TMachine>;
          for (const action of actions as readonly Effect[]) this.perform(action);
        }
        entry.then();
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.length === 0) for (const run of this.#idle.splice(0)) run();
  }
}

type PodActor = SimActor<typeof podKind.machine, PodEvent, PodCommand, PodRejection, PodState>;
type TwinActor = SimActor<typeof twinKind.machine, TwinEvent, TwinCommand, TwinRejection, TwinState>;
type PresentTwin = Extract<TwinState, { readonly status: 'synced' | 'drifted' }>;

/** A supervised pod (production pod-supervisor.ts `Supervised`, without probes). */
interface PodEntry {
  pod: JsonObject;
  readonly actor: PodActor;
  readonly timers: Set<TimerHandle>;
  /** The node asked for termination (deleted in the API, or no longer desired). */
  terminating: boolean;
  /** The termination-completed report went up (once per life). */
  completed: boolean;
}

/** A pod this life finished (terminated and reported) while the cloud still holds it. */
interface FinishedPod {
  pod: JsonObject;
  readonly state: PodState;
}

/** A twin of this life (production twin-host.ts `HeldTwin`, without MQTT membership). */
interface TwinEntry {
  readonly ref: DeviceRef;
  readonly actor: TwinActor;
  /** The declaration last synced or tried (`declarationSignature`), so an unchanged Device costs nothing. */
  declared: string | undefined;
  /** Reports requested and not yet sent (production's ReportLane): read from the twin when sent. */
  readonly due: { twin: boolean; state: boolean; scheduled: boolean };
}

/** production PodSupervisor's own reading of a Pod's metadata. */
const metaOf = podMetaOf;

const isPresentTwin = (state: TwinState): state is PresentTwin => state.status === 'synced' || state.status === 'drifted';
const nameKey = (ref: { readonly namespace: string; readonly name: string }): string => `${ref.namespace}/${ref.name}`;
/** A run may exist: running, or asked to start (production's #finishIfDone check). */
const hasProcess = (state: PodState): boolean =>
  state.status !== 'absent' && [...state.initContainers, ...state.containers].some((c) => c.state.state === 'running' || (c.state.state === 'waiting' && c.state.reason === 'ContainerCreating'));

/**
 * The pods and twins of one edge process life.
 * @example
 * const apps = new EdgeApps(ports, runtime);
 * apps.start(held);                 // rehydrate, scan, converge, kill orphans, report all
 * apps.desiredChanged(heldNow);     // after each durable down commit
 * apps.mapperUpdate('plant', 'thermo-0', 'temperature', '21.5');
 */
export class EdgeApps {
  readonly #ports: EdgeAppsPorts;
  readonly #runtime: SimulatedRuntime;
  readonly #pods = new Map<string, PodEntry>();
  readonly #finished = new Map<string, FinishedPod>();
  readonly #twins = new Map<string, TwinEntry>();
  /** `<ns>/<name>` → uid: MQTT topics name devices, streams are keyed by uid. */
  readonly #uidByName = new Map<string, string>();
  readonly #statusDue = new Set<string>();
  #reportScheduled = false;
  /** The runtime scan of `start`, read by the pods rehydrated during it (production's #observed). */
  #observed: readonly (SimProcess & { readonly alive: boolean })[] = [];
  #held: HeldContent = new Map();
  #started = false;

  constructor(ports: EdgeAppsPorts, runtime: SimulatedRuntime) {
    this.#ports = ports;
    this.#runtime = runtime;
  }

  /** After the process (re)started: rehydrate actors from ports.journal.streams, scan the runtime (ObserveRuntime as production), converge on held, kill orphans, report every pod and twin once. */
  start(held: HeldContent): void {
    if (this.#started) return this.#ports.violation(`${this.#ports.node}: edge apps started twice in one life`);
    this.#started = true;
    this.#held = held;
    this.#runtime.attach(this.#ports.life, (exit) => this.#exited(exit));
    // production PodSupervisor.start: scan, reconcile, then kill what no supervised pod owns.
    this.#observed = this.#runtime.scan();
    this.#forgetUnheldStreams(held);
    this.#reconcilePods(held);
    const kept = new Set(this.#pods.keys());
    this.#runtime.killOrphans((run) => kept.has(run.podUid));
    this.#observed = [];
    // production DeviceTwinHost.start: reconcile, then report every present twin: a crash between a
    // twin's commit and its outbox commit loses nothing, the whole twin goes up again.
    this.#reconcileTwins(held);
    this.#reportAllTwins();
  }

  /** After each durable down commit: converge on the held pods and on the held Devices/DeviceModels. */
  desiredChanged(held: HeldContent): void {
    if (!this.#started) return this.#ports.violation(`${this.#ports.node}: desired changed before the edge apps started`);
    this.#held = held;
    this.#reconcilePods(held);
    this.#reconcileTwins(held);
  }

  /** After a full resync: report every pod status and every twin again (production edge.ts calls supervisor.reportAll and devices.reportAll). */
  reportAll(): void {
    for (const uid of this.#pods.keys()) this.#statusChanged(uid);
    this.#reportAllTwins();
  }

  /**
   * A mapper's MQTT twin update of one property's actual value: the JSON bytes a KubeEdge mapper
   * publishes on `$hw/events/device/<ns>/<name>/twin/update`, read by the EventBus's parser and
   * decoded by the twin host's, then decided by the twin actor. `answered` runs when the mapper
   * would get its answer on `…/twin/update/result`: after the commit for an accepted change (the
   * machine's publishResult), and only while this life lives.
   */
  mapperUpdate(namespace: string, name: string, property: string, value: string, answered: (answer: MapperAnswer) => void = () => undefined): MapperAnswer {
    const device = { namespace, name };
    const rawTopic = deviceTopics.twinUpdate(device);
    const topic = parseDeviceTopic(rawTopic);
    if (!topic.ok) return this.#answerLater('refused', answered);
    const type = this.#propertyType(namespace, name, property);
    const body = { event_id: this.#ports.nextId(), timestamp: this.#ports.wallMs(), twin: { [property]: { actual: { value }, ...(type === undefined ? {} : { metadata: { type } }) } } };
    const payload = readInboundPayload(new TextEncoder().encode(JSON.stringify(body)), MQTT_PAYLOAD_BYTES_MAX_DEFAULT);
    const decoded = decodeTwinRequest({ topic: topic.value, rawTopic, payload });
    if (!decoded.ok || decoded.value.kind !== 'twinUpdate') return this.#answerLater('refused', answered);
    const uid = this.#uidByName.get(nameKey(device));
    const entry = uid === undefined ? undefined : this.#twins.get(uid);
    if (entry === undefined) return this.#answerLater('unknown', answered);
    const command: TwinCommand = { type: 'UpdateTwinFromEdge', data: { event_id: decoded.value.event_id, twin: decoded.value.twin, at: this.#ports.wallMs() } };
    const answerOf = (decision: Decision<TwinEvent, TwinRejection>): MapperAnswer => (decision.ok ? 'accepted' : decision.error.kind === 'DeviceNotFound' ? 'unknown' : 'refused');
    const decision = entry.actor.execute(command, (d) => answered(answerOf(d)));
    return answerOf(decision);
  }

  /**
   * A mapper's `$hw/events/device/<ns>/<name>/state/update` (production DeviceTwinHost #updateState):
   * through the production parser, decided by the twin actor; an unknown state is dropped (rule 49).
   */
  mapperState(namespace: string, name: string, state: string): MapperAnswer {
    const device = { namespace, name };
    const rawTopic = deviceTopics.stateUpdate(device);
    const topic = parseDeviceTopic(rawTopic);
    if (!topic.ok) return 'refused';
    const payload = readInboundPayload(new TextEncoder().encode(JSON.stringify({ event_id: this.#ports.nextId(), timestamp: this.#ports.wallMs(), state })), MQTT_PAYLOAD_BYTES_MAX_DEFAULT);
    const decoded = decodeTwinRequest({ topic: topic.value, rawTopic, payload });
    if (!decoded.ok || decoded.value.kind !== 'stateUpdate') return 'refused';
    const uid = this.#uidByName.get(nameKey(device));
    const entry = uid === undefined ? undefined : this.#twins.get(uid);
    if (entry === undefined) return 'unknown';
    const decision = entry.actor.execute({ type: 'ReportDeviceState', data: { state: decoded.value.state, at: this.#ports.wallMs() } });
    return decision.ok ? 'accepted' : decision.error.kind === 'DeviceNotFound' ? 'unknown' : 'refused';
  }

  /** The pods of this life: supervised ones, and finished ones the cloud still holds (status undefined). */
  pods(): ReadonlyMap<string, SimPod> {
    const pods = new Map<string, SimPod>();
    for (const [uid, entry] of this.#pods) {
      const { namespace, name } = metaOf(entry.pod);
      pods.set(uid, { namespace, name, uid, state: entry.actor.state, status: entry.completed ? undefined : this.#statusOf(entry) });
    }
    for (const [uid, finished] of this.#finished) {
      const { namespace, name } = metaOf(finished.pod);
      pods.set(uid, { namespace, name, uid, state: finished.state, status: undefined });
    }
    return pods;
  }

  /** The present twins of this life by `<ns>/<name>`, as `edgehive status` shows them. */
  twins(): ReadonlyMap<string, SimTwin> {
    const twins = new Map<string, SimTwin>();
    for (const [uid, entry] of this.#twins) {
      const state = entry.actor.state;
      if (!isPresentTwin(state)) continue;
      const properties = Object.fromEntries(Object.entries(twinForMqtt(state)).map(([k, t]) => [k, { expected: t.expected?.value ?? null, actual: t.actual?.value ?? null }]));
      twins.set(nameKey(entry.ref), { namespace: entry.ref.namespace, name: entry.ref.name, uid, properties, state: state.state });
    }
    return twins;
  }

  // ---- pods (production projections/edge-pods/pod-supervisor.ts) ----

  /** production PodSupervisor.#reconcile: adopt wanted pods, terminate deleted and unwanted ones. */
  #reconcilePods(held: HeldContent): void {
    const wanted = new Map<string, JsonObject>();
    for (const [key, { content }] of held) if (key.startsWith('pods/') && metaOf(content).uid !== '') wanted.set(metaOf(content).uid, content);
    for (const [uid, pod] of wanted) {
      const finished = this.#finished.get(uid);
      if (finished !== undefined) {
        finished.pod = pod;
        continue;
      }
      const known = this.#pods.get(uid);
      if (known === undefined) this.#adopt(uid, pod);
      else known.pod = pod;
      if (metaOf(pod).deleting) this.#terminate(uid, metaOf(pod).deletionGracePeriodSeconds);
    }
    for (const uid of [...this.#pods.keys()]) if (!wanted.has(uid)) this.#terminate(uid, undefined);
    for (const uid of [...this.#finished.keys()]) if (!wanted.has(uid)) this.#finished.delete(uid);
  }

  /** production PodSupervisor.#adopt: rehydrate (observing the runtime) or admit and start a new pod. */
  #adopt(uid: string, pod: JsonObject): void {
    const { namespace, name, deleting } = metaOf(pod);
    const stream = podStream(namespace, name, uid);
    const snapshot = this.#rehydrate(podKind, stream);
    if (snapshot === undefined) return;
    if (podKind.stateOf(snapshot).status === 'absent' && deleting) return this.#finishUnstarted(uid, pod);
    const at = this.#nowIso();
    const actor: PodActor = new SimActor(podKind, stream, snapshot, this.#ports, (effect) => this.#podEffect(uid, effect));
    this.#pods.set(uid, { pod, actor, timers: new Set(), terminating: false, completed: false });
    if (actor.state.status !== 'absent') {
      const alive = this.#observed.filter((o) => o.podUid === uid && o.alive).map((o) => ({ container: o.container, runId: o.runId }));
      this.#executePod(uid, { type: 'ObserveRuntime', data: { alive, at } });
    } else {
      this.#executePod(uid, { type: 'AdmitPod', data: { spec: podSpecInputOf(pod, this.#ports.node), at } });
      this.#executePod(uid, { type: 'StartPod', data: { at: this.#nowIso() } });
    }
    this.#statusChanged(uid);
  }

  /**
   * A pod held already deleting that this node never admitted (or whose finished stream is gone):
   * production PodSupervisor.#adopt, as the kubelet, starts nothing and only confirms the end.
   */
  #finishUnstarted(uid: string, pod: JsonObject): void {
    const { namespace, name } = metaOf(pod);
    this.#ports.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: `${namespace}/pod/${name}`, UID: uid } }]);
    this.#finished.set(uid, { pod, state: { status: 'absent' } });
  }

  /** production PodSupervisor.#terminate: RequestTermination once, then finish when no process is left. */
  #terminate(uid: string, gracePeriodSeconds: number | undefined): void {
    const entry = this.#pods.get(uid);
    if (entry === undefined) return;
    if (entry.terminating) return this.#finishIfDone(uid);
    entry.terminating = true;
    const data = { ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }), at: this.#nowIso() };
    this.#executePod(uid, { type: 'RequestTermination', data }, () => this.#finishIfDone(uid));
  }

  /** production PodSupervisor.#finishIfDone: report the termination (once), forget the pod; here its stream is removed too. */
  #finishIfDone(uid: string): void {
    const entry = this.#pods.get(uid);
    if (entry === undefined || !entry.terminating) return;
    const state = entry.actor.state;
    if (hasProcess(state)) return;
    const { namespace, name } = metaOf(entry.pod);
    if (!entry.completed) {
      entry.completed = true;
      this.#ports.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: `${namespace}/pod/${name}`, UID: uid } }]);
    }
    for (const timer of entry.timers) timer.cancel();
    this.#pods.delete(uid);
    // Remembered while the cloud still holds it (deleting), so it is not admitted again in this life.
    const heldNow = this.#held.get(`pods/${namespace}/${name}`);
    if (heldNow !== undefined && metaOf(heldNow.content).uid === uid) this.#finished.set(uid, { pod: entry.pod, state });
    this.#runtime.removePod(uid);
    // DEVIATION: production keeps a finished pod's stream; the simulated journal drops it (one commit).
    entry.actor.whenIdle(() => {
      if (this.#ports.journal.streams.has(entry.actor.stream)) this.#ports.journal.remove(entry.actor.stream, () => undefined);
    });
  }

  /** The pod machine's effects, carried out by the runtime; each result comes back as a command (production #effects). */
  #podEffect(uid: string, effect: Effect): void {
    const entry = this.#pods.get(uid);
    // A pod forgotten since its commit was decided has nothing left to act on (production checks the same).
    if (entry === undefined) return;
    switch (effect.type) {
      case 'startContainers':
        for (const container of (effect.params as { containers: readonly { name: string }[] }).containers) this.#startContainer(uid, container.name);
        return;
      case 'stopContainers': {
        const { runIds, gracePeriodSeconds } = effect.params as { runIds: readonly string[]; gracePeriodSeconds: number };
        for (const runId of this.#runningRunIds(entry, runIds)) this.#runtime.stop(uid, runId, gracePeriodSeconds);
        return;
      }
      case 'scheduleRestart': {
        const { container, delayMs } = effect.params as { container: string; delayMs: number };
        return this.#restartAfter(entry, uid, container, delayMs);
      }
      case 'killProcesses': {
        const doomed = new Set((effect.params as { runIds: readonly string[] }).runIds);
        this.#runtime.killOrphans((run) => !(run.podUid === uid && doomed.has(run.runId)));
        return;
      }
      default:
        this.#ports.violation(`pod ${uid}: unknown effect ${effect.type}`);
    }
  }

  /** production #startContainer: a fresh run id, the runtime starts it, its start comes back as ReportContainerStarted. */
  #startContainer(uid: string, container: string): void {
    const entry = this.#pods.get(uid);
    if (entry === undefined) return;
    const { namespace, name } = metaOf(entry.pod);
    const runId = this.#ports.nextId();
    this.#runtime.start({ namespace, name, podUid: uid, container, runId }, this.#ports.life, (atWallMs) => {
      this.#executePod(uid, { type: 'ReportContainerStarted', data: { container, runId, at: new Date(atWallMs).toISOString() } });
    });
  }

  /** production #runsOf: the runs named that the pod (as applied) still has running. */
  #runningRunIds(entry: PodEntry, runIds: readonly string[]): string[] {
    const state = entry.actor.state;
    if (state.status === 'absent') return [];
    const wanted = new Set(runIds);
    return [...state.initContainers, ...state.containers].flatMap((c) => (c.state.state === 'running' && wanted.has(c.state.runId) ? [c.state.runId] : []));
  }

  /** production #exited: the exit is reported to the pod, which then may be done terminating. */
  #exited(exit: SimExit): void {
    if (!this.#ports.life.alive || !this.#pods.has(exit.podUid)) return;
    const data = { container: exit.container, runId: exit.runId, exitCode: exit.exitCode, ...(exit.reason === undefined ? {} : { reason: exit.reason }), ...(exit.message === undefined ? {} : { message: exit.message }), at: new Date(exit.at).toISOString() };
    this.#executePod(exit.podUid, { type: 'ReportContainerExited', data }, () => this.#finishIfDone(exit.podUid));
  }

  /** production #execute: a command applied changes the status, reported coalesced; `then` after it (or its refusal). */
  /** production #restartAfter: the back-off timer, armed again for what is left when the wall clock was set back meanwhile. */
  #restartAfter(entry: { readonly timers: Set<TimerHandle> }, uid: string, container: string, delayMs: number): void {
    const timer = this.#ports.time.schedule(delayMs, this.#ports.life, () => {
      entry.timers.delete(timer);
      const current = this.#pods.get(uid);
      if (current === undefined) return;
      current.actor.execute({ type: 'RestartContainer', data: { container, at: this.#nowIso() } }, (decision) => {
        if (decision.ok) return this.#statusChanged(uid);
        if (decision.error.kind === 'BackOffNotElapsed') this.#restartAfter(current, uid, container, Math.max(0, Date.parse(decision.error.restartAt) - this.#ports.wallMs()));
      });
    });
    entry.timers.add(timer);
  }

  #executePod(uid: string, command: PodCommand, then: () => void = () => undefined): void {
    const entry = this.#pods.get(uid);
    if (entry === undefined) return;
    entry.actor.execute(command, (decision) => {
      if (decision.ok) this.#statusChanged(uid);
      then();
    });
  }

  /** production #statusChanged: one report per turn (setImmediate there, one event later here), the latest state of each pod due. */
  #statusChanged(uid: string): void {
    this.#statusDue.add(uid);
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    this.#ports.time.schedule(0, this.#ports.life, () => {
      this.#reportScheduled = false;
      const events = [...this.#statusDue].flatMap((due) => this.#statusReport(due));
      this.#statusDue.clear();
      if (events.length > 0) this.#ports.report(events);
    });
  }

  /** production #statusReport: POD_STATUS_REPORTED, none once its termination is reported. */
  #statusReport(uid: string): UpEvent[] {
    const entry = this.#pods.get(uid);
    if (entry === undefined || entry.completed) return [];
    const status = this.#statusOf(entry);
    if (status === undefined) return [];
    const { namespace, name } = metaOf(entry.pod);
    return [{ type: POD_STATUS_REPORTED, data: { resource: `${namespace}/podstatus/${name}`, UID: uid, Name: name, Status: status } }];
  }

  /** The PodStatus of the applied state (no probes here: a running container is ready). */
  #statusOf(entry: PodEntry): JsonObject | undefined {
    const state = entry.actor.state;
    if (state.status === 'absent') return undefined;
    return kubePodStatusOf(state as PresentPodState, EDGE_HOST_IP, imagesOf(entry.pod));
  }

  // ---- twins (production projections/edge-devices/twin-host.ts) ----

  /** production DeviceTwinHost.#reconcile: removals first (a re-created Device replaces its predecessor), then add or sync. */
  #reconcileTwins(held: HeldContent): void {
    const wanted = this.#wantedDevices(held);
    for (const uid of [...this.#twins.keys()]) if (!wanted.has(uid)) this.#removeTwin(uid);
    for (const [uid, device] of wanted) {
      const entry = this.#twins.get(uid) ?? this.#openTwin(device);
      if (entry === undefined) continue;
      const model = device.modelName === '' ? undefined : held.get(`devicemodels/${device.ref.namespace}/${device.modelName}`)?.content;
      this.#converge(entry, device, model);
    }
  }

  /** production #wantedDevices: the Devices bound to this node, by uid, one per name, bounded. */
  #wantedDevices(held: HeldContent): Map<string, HeldDevice> {
    const wanted = new Map<string, HeldDevice>();
    const names = new Set<string>();
    for (const [key, { content }] of held) {
      if (!key.startsWith('devices/')) continue;
      const read = readDevice(content);
      if (!read.ok) continue;
      const device = read.value;
      if (device.nodeName !== undefined && device.nodeName !== this.#ports.node) continue;
      if (names.has(nameKey(device.ref)) || wanted.size >= TWIN_DEVICES_MAX) continue;
      names.add(nameKey(device.ref));
      wanted.set(device.ref.uid, device);
    }
    return wanted;
  }

  /** production #open: the twin's actor rebuilt from its stream (or new). */
  #openTwin(device: HeldDevice): TwinEntry | undefined {
    const { namespace, name, uid } = device.ref;
    const stream = twinStream(namespace, name, uid);
    const snapshot = this.#rehydrate(twinKind, stream);
    if (snapshot === undefined) return undefined;
    const actor: TwinActor = new SimActor(twinKind, stream, snapshot, this.#ports, (effect) => this.#twinEffect(uid, effect));
    const entry: TwinEntry = { ref: device.ref, actor, declared: undefined, due: { twin: false, state: false, scheduled: false } };
    this.#twins.set(uid, entry);
    this.#uidByName.set(nameKey(device.ref), uid);
    return entry;
  }

  /** production #converge and #add: add the twin if it has none, else sync what the cloud declares now when it changed. */
  #converge(entry: TwinEntry, device: HeldDevice, model: JsonObject | undefined): void {
    const signature = declarationSignature(device, model);
    if (signature === entry.declared) return;
    entry.declared = signature;
    const state = entry.actor.decidedState;
    const command = isPresentTwin(state) ? cloudSyncCommand(device, model, state.twin, this.#ports.wallMs()) : addDeviceCommand(device, model, this.#ports.wallMs());
    const decision = entry.actor.execute(command, (d) => {
      // A sync that changed something is reported by the host (the machine reports only edge changes); an add always.
      if (d.ok && (command.type === 'AddDevice' || d.value.length > 0)) this.#requestTwinReport(device.ref.uid, 'twin');
      // production #add: a new twin reports its state too (`unknown` replaces another node's).
      if (d.ok && command.type === 'AddDevice') this.#requestTwinReport(device.ref.uid, 'state');
    });
    // Not marked done: the next reconcile (the next desired commit, or a restart) tries again.
    if (!decision.ok) entry.declared = undefined;
  }

  /** production #remove: RemoveDevice journaled, the twin forgotten; here its stream is then removed too. */
  #removeTwin(uid: string): void {
    const entry = this.#twins.get(uid);
    if (entry === undefined) return;
    entry.actor.execute({ type: 'RemoveDevice', data: { at: this.#ports.wallMs() } });
    this.#twins.delete(uid);
    if (this.#uidByName.get(nameKey(entry.ref)) === uid) this.#uidByName.delete(nameKey(entry.ref));
    // DEVIATION: production keeps the removed twin's stream; unless the Device came back meanwhile, it is dropped here.
    entry.actor.whenIdle(() => {
      if (!this.#twins.has(uid) && this.#ports.journal.streams.has(entry.actor.stream)) this.#ports.journal.remove(entry.actor.stream, () => undefined);
    });
  }

  /** The twin machine's effects: MQTT publishes (no broker in the simulation) and up reports (production #effects). */
  #twinEffect(uid: string, effect: Effect): void {
    switch (effect.type) {
      case 'publishResult':
      case 'publishDocument':
      case 'publishDelta':
        return;
      case 'reportToCloud':
        return this.#requestTwinReport(uid, 'twin');
      case 'reportStateToCloud':
        return this.#requestTwinReport(uid, 'state');
      default:
        this.#ports.violation(`twin ${uid}: unknown effect ${effect.type}`);
    }
  }

  /** production DeviceTwinHost.reportAll: every present twin and its state. */
  #reportAllTwins(): void {
    for (const [uid, entry] of this.#twins) {
      if (!isPresentTwin(entry.actor.state)) continue;
      this.#requestTwinReport(uid, 'twin');
      this.#requestTwinReport(uid, 'state');
    }
  }

  /** production ReportLane: coalesced per twin, sent one event later, built from the twin as it is then. */
  #requestTwinReport(uid: string, what: 'twin' | 'state'): void {
    const entry = this.#twins.get(uid);
    if (entry === undefined) return;
    entry.due[what] = true;
    if (entry.due.scheduled) return;
    entry.due.scheduled = true;
    this.#ports.time.schedule(0, this.#ports.life, () => {
      const { twin, state: stateDue } = entry.due;
      entry.due.twin = entry.due.state = entry.due.scheduled = false;
      const state = entry.actor.state;
      if (!isPresentTwin(state) || this.#twins.get(uid) !== entry) return;
      const events: UpEvent[] = [];
      if (twin) events.push(twinReported(state, this.#ports.nextId(), this.#ports.wallMs()));
      if (stateDue) events.push(deviceStateReported(state, this.#ports.nextId(), this.#ports.wallMs()));
      if (events.length > 0) this.#ports.report(events);
    });
  }

  /** The property's type as the held DeviceModel declares it (what a KubeEdge mapper puts in `metadata.type`). */
  #propertyType(namespace: string, name: string, property: string): string | undefined {
    const device = this.#held.get(`devices/${namespace}/${name}`)?.content;
    const read = device === undefined ? undefined : readDevice(device);
    if (read === undefined || !read.ok || read.value.modelName === '') return undefined;
    return modelPropertyTypes(this.#held.get(`devicemodels/${namespace}/${read.value.modelName}`)?.content).get(property);
  }

  // ---- both ----

  /**
   * Streams of pods and twins the cloud no longer holds: production leaves them in the journal (and
   * kills the pods' processes as orphans); DEVIATION: the simulated journal drops them.
   */
  #forgetUnheldStreams(held: HeldContent): void {
    const heldStreams = new Set<string>();
    for (const [key, { content }] of held) {
      const { namespace, name, uid } = metaOf(content);
      if (uid === '' || name === '') continue;
      if (key.startsWith('pods/')) heldStreams.add(podStream(namespace, name, uid));
      if (key.startsWith('devices/')) heldStreams.add(twinStream(namespace, name, uid));
    }
    for (const stream of [...this.#ports.journal.streams.keys()]) {
      const ours = stream.startsWith(podKind.streamPrefix) || stream.startsWith(twinKind.streamPrefix);
      if (ours && !heldStreams.has(stream)) this.#ports.journal.remove(stream, () => undefined);
    }
  }

  /** The actor's snapshot folded from its stream without effects (production rebuildSnapshot); undefined (and a violation) when an event does not decode. */
  #rehydrate<TMachine extends AnyStateMachine, TEvent extends DomainEvent>(kind: Pick<AnyKind<TMachine, TEvent, never, never, never>, 'machine' | 'decodeEvent'>, stream: string): SnapshotFrom<TMachine> | undefined {
    const recorded = this.#ports.journal.streams.get(stream) ?? [];
    const events: TEvent[] = [];
    for (const [index, event] of recorded.entries()) {
      const decoded = kind.decodeEvent(event.type, event.data);
      if (!decoded.ok) {
        this.#ports.violation(`${stream}: event ${index + 1} (${event.type}) does not decode: ${decoded.error.detail}`);
        return undefined;
      }
      events.push(decoded.value);
    }
    return foldEvents(kind.machine, events);
  }

  /** Refusals and 404s are answered at once by the production host; one event later here, like every answer. */
  #answerLater(answer: MapperAnswer, answered: (answer: MapperAnswer) => void): MapperAnswer {
    this.#ports.time.schedule(0, this.#ports.life, () => answered(answer));
    return answer;
  }

  #nowIso(): string {
    return new Date(this.#ports.wallMs()).toISOString();
  }
}


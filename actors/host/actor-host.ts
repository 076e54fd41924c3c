// The actor host: runs XState actors whose every transition is first appended to the actor's
// stream (write-ahead), and rebuilds actors from their streams without re-running effects.
import { createActor, type Actor, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import { err, invariant, ok, type Clock, type Ids, type JsonValue, type Result } from '../../kernel/index.js';
import type { EventStore, NewEvent, StreamId, WrongExpectedVersion } from '../../journal/index.js';
import type { ActorKind, DomainEvent, EventDecodeError } from './actor-kind.js';
import { foldEvent, initialSnapshot } from './fold.js';

export interface ActorHostOptions {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Recorded as `meta.origin` on every event: the node name, or `cloud`. */
  readonly origin: string;
  /** A snapshot is saved after this many events since the last one (bounds rehydration, enables compaction). */
  readonly snapshotEveryEvents?: number;
  /** Commands waiting for one actor beyond this are refused with `MailboxFull`. */
  readonly mailboxCommandsMax?: number;
}

/** Why a command produced no recorded events. */
export type ExecuteError<TRejection> =
  | { readonly kind: 'Rejected'; readonly rejection: TRejection }
  | WrongExpectedVersion
  | { readonly kind: 'MailboxFull'; readonly stream: StreamId; readonly limit: number }
  | { readonly kind: 'ActorStopped'; readonly stream: StreamId };

export interface Executed<TEvent> {
  readonly events: readonly TEvent[];
  /** The stream version after the command (unchanged if it decided nothing). */
  readonly version: number;
}

/** Why an actor could not be rebuilt from its stream. */
export type RehydrateError =
  | { readonly kind: 'UndecodableEvent'; readonly stream: StreamId; readonly version: number; readonly error: EventDecodeError }
  | { readonly kind: 'WrongStreamKind'; readonly stream: StreamId; readonly expectedPrefix: string };

/** Persisted snapshot payload: which kind wrote it and XState's persisted snapshot. */
interface StoredSnapshot {
  readonly kind: string;
  readonly machine: JsonValue;
}

type Effects<TMachine extends AnyStateMachine> = Parameters<TMachine['provide']>[0];

type KindOf<TMachine extends AnyStateMachine, TEvent extends DomainEvent, TCommand extends { readonly type: string }, TRejection extends { readonly kind: string }, TState extends { readonly status: string }> =
  ActorKind<TMachine, TEvent, TCommand, TRejection, TState>;

export interface StartOptions<TState, TCommand> {
  /**
   * After rebuilding, the host asks for an observation of the outside world (e.g. a runtime scan
   * turned into `ObserveRuntime`), so the actor adopts or cleans up instead of re-doing effects.
   */
  readonly observe?: (state: TState) => TCommand | undefined;
}

export class ActorHost {
  readonly #options: ActorHostOptions;

  constructor(options: ActorHostOptions) {
    invariant((options.snapshotEveryEvents ?? 1) > 0, 'snapshot interval is positive');
    this.#options = options;
  }

  /**
   * Starts the actor of `stream`: folds its snapshot and events through the pure machine (no
   * effects run), starts it from that state with the host's effects, then feeds it an observation.
   */
  async start<TMachine extends AnyStateMachine, TEvent extends DomainEvent, TCommand extends { readonly type: string }, TRejection extends { readonly kind: string }, TState extends { readonly status: string }>(
    kind: KindOf<TMachine, TEvent, TCommand, TRejection, TState>,
    stream: StreamId,
    effects: Effects<TMachine>,
    options: StartOptions<TState, TCommand> = {},
  ): Promise<Result<JournaledActor<TMachine, TEvent, TCommand, TRejection, TState>, RehydrateError>> {
    if (!stream.startsWith(kind.streamPrefix)) return err({ kind: 'WrongStreamKind', stream, expectedPrefix: kind.streamPrefix });
    const rebuilt = await rebuildSnapshot(this.#options.store, kind, stream);
    if (!rebuilt.ok) return rebuilt;
    const actor = new JournaledActor(this.#options, kind, stream, effects, rebuilt.value);
    const observation = options.observe?.(actor.state);
    if (observation !== undefined) await actor.execute(observation);
    return ok(actor);
  }
}

interface Rebuilt<TMachine extends AnyStateMachine> {
  readonly snapshot: SnapshotFrom<TMachine>;
  readonly version: number;
  readonly eventsSinceSnapshot: number;
}

/** Snapshot (if any) plus the events after it, folded without effects. */
export async function rebuildSnapshot<TMachine extends AnyStateMachine, TEvent extends DomainEvent>(
  store: EventStore,
  kind: Pick<ActorKind<TMachine, TEvent, never, never, never>, 'name' | 'machine' | 'decodeEvent'>,
  stream: StreamId,
  until?: number,
): Promise<Result<Rebuilt<TMachine>, RehydrateError>> {
  const stored = await store.loadSnapshot(stream);
  const usable = stored !== undefined && isStoredSnapshot(stored.state, kind.name) && (until === undefined || stored.version <= until);
  let snapshot = usable
    ? restoredSnapshot(kind.machine, stored.state.machine)
    : initialSnapshot(kind.machine);
  let version = usable ? stored.version : 0;
  let eventsSinceSnapshot = 0;
  for await (const recorded of store.readStream(stream, { from: version + 1, ...(until === undefined ? {} : { to: until }) })) {
    const decoded = kind.decodeEvent(recorded.type, recorded.data);
    if (!decoded.ok) return err({ kind: 'UndecodableEvent', stream, version: recorded.version, error: decoded.error });
    snapshot = foldEvent(kind.machine, snapshot, decoded.value);
    version = recorded.version;
    eventsSinceSnapshot += 1;
  }
  return ok({ snapshot, version, eventsSinceSnapshot });
}

/** XState's own restore, on an actor that is never started: no effect can run. */
const restoredSnapshot = <TMachine extends AnyStateMachine>(machine: TMachine, persisted: JsonValue): SnapshotFrom<TMachine> =>
  createActor(machine as AnyStateMachine, { snapshot: persisted as never }).getSnapshot() as SnapshotFrom<TMachine>;

const isStoredSnapshot = (state: JsonValue, kindName: string): state is JsonValue & StoredSnapshot =>
  typeof state === 'object' && state !== null && !Array.isArray(state) && (state as Record<string, JsonValue>)['kind'] === kindName;

/** A running actor whose commands are decided, journaled, then applied (effects run last). */
export class JournaledActor<TMachine extends AnyStateMachine, TEvent extends DomainEvent, TCommand extends { readonly type: string }, TRejection extends { readonly kind: string }, TState extends { readonly status: string }> {
  readonly stream: StreamId;
  readonly #kind: KindOf<TMachine, TEvent, TCommand, TRejection, TState>;
  readonly #options: ActorHostOptions;
  readonly #actor: Actor<TMachine>;
  #version: number;
  #eventsSinceSnapshot: number;
  #queued = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: ActorHostOptions, kind: KindOf<TMachine, TEvent, TCommand, TRejection, TState>, stream: StreamId, effects: Effects<TMachine>, rebuilt: Rebuilt<TMachine>) {
    this.#options = options;
    this.#kind = kind;
    this.stream = stream;
    this.#version = rebuilt.version;
    this.#eventsSinceSnapshot = rebuilt.eventsSinceSnapshot;
    const live = kind.machine.provide(effects as never) as TMachine;
    // Starting from a snapshot runs no entry actions: rehydration never re-does effects.
    const persisted = kind.machine.getPersistedSnapshot(rebuilt.snapshot);
    this.#actor = createActor(live as AnyStateMachine, { snapshot: persisted as never }) as unknown as Actor<TMachine>;
    this.#actor.start();
  }

  get version(): number {
    return this.#version;
  }

  get snapshot(): SnapshotFrom<TMachine> {
    return this.#actor.getSnapshot() as SnapshotFrom<TMachine>;
  }

  get state(): TState {
    return this.#kind.stateOf(this.snapshot);
  }

  /** XState's persisted form of the current state: what replay must rebuild exactly. */
  persistedSnapshot(): JsonValue {
    return this.#kind.machine.getPersistedSnapshot(this.snapshot) as unknown as JsonValue;
  }

  /** Decides, appends (write-ahead), then applies the events so their effects run. One at a time. */
  execute(command: TCommand, cause: { causationId?: string; correlationId?: string } = {}): Promise<Result<Executed<TEvent>, ExecuteError<TRejection>>> {
    if (this.#stopped) return Promise.resolve(err({ kind: 'ActorStopped', stream: this.stream }));
    const limit = this.#options.mailboxCommandsMax ?? 1000;
    if (this.#queued >= limit) return Promise.resolve(err({ kind: 'MailboxFull', stream: this.stream, limit }));
    this.#queued += 1;
    const run = this.#tail.then(() => this.#executeNow(command, cause));
    // The caller sees a failure through `run`; the mailbox chain itself always moves on.
    this.#tail = run
      .finally(() => {
        this.#queued -= 1;
      })
      .catch(() => undefined);
    return run;
  }

  stop(): void {
    this.#stopped = true;
    this.#actor.stop();
  }

  async #executeNow(command: TCommand, cause: { causationId?: string; correlationId?: string }): Promise<Result<Executed<TEvent>, ExecuteError<TRejection>>> {
    if (this.#stopped) return err({ kind: 'ActorStopped', stream: this.stream });
    const decision = this.#kind.decide(command, this.state);
    if (!decision.ok) return err({ kind: 'Rejected', rejection: decision.error });
    const events = decision.value;
    if (events.length === 0) return ok({ events, version: this.#version });
    const at = new Date(this.#options.clock.nowMs()).toISOString();
    const correlationId = cause.correlationId ?? this.#options.ids.next();
    const records: NewEvent[] = events.map((event) => {
      invariant(/\.v\d+$/.test(event.type) && !event.type.startsWith('xstate.'), 'only versioned domain events are journaled');
      return { type: event.type, data: event.data, meta: { at, origin: this.#options.origin, correlationId, ...(cause.causationId === undefined ? {} : { causationId: cause.causationId }) } };
    });
    const appended = await this.#options.store.append(this.stream, this.#version, records);
    if (!appended.ok) return appended;
    for (const event of events) this.#actor.send(event as never);
    this.#version = appended.value.nextVersion;
    this.#eventsSinceSnapshot += events.length;
    await this.#snapshotIfDue();
    return ok({ events, version: this.#version });
  }

  async #snapshotIfDue(): Promise<void> {
    const every = this.#options.snapshotEveryEvents;
    if (every === undefined || this.#eventsSinceSnapshot < every) return;
    const state: StoredSnapshot = { kind: this.#kind.name, machine: this.persistedSnapshot() };
    await this.#options.store.saveSnapshot({ stream: this.stream, version: this.#version, state: state as unknown as JsonValue, at: new Date(this.#options.clock.nowMs()).toISOString() });
    this.#eventsSinceSnapshot = 0;
  }
}

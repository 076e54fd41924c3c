// The seams of the whole-system simulator (system-world.testing.ts): what the simulated edge
// applications (pods, twins, the process runtime) and the simulated API with its controllers are
// given by the world, and what they offer it. Everything runs on SimulatedTime; nothing here
// touches a real clock, socket or file.
import type { DomainEvent } from '../actors/index.js';
import type { JsonObject } from '../kernel/index.js';
import type { UpEvent } from '../transport/index.js';
import type { Incarnation, SimulatedTime } from './simulated-time.testing.js';

/** Wall-clock epoch of the simulations (ms): simulated time 0 is this instant, so timestamps look real. */
export const SIMULATION_EPOCH_MS = Date.UTC(2026, 0, 1);

/**
 * The desired objects the edge journal holds, as the down receiver stored them: object key
 * (`<plural>/<namespace>/<name>`, e.g. `pods/default/web-1`, `devices/plant/thermo-0`,
 * `devicemodels/plant/thermo-model`, `nodes//edge-a`) → uid and desired content (the object minus
 * status, managedFields and resourceVersion).
 */
export type HeldContent = ReadonlyMap<string, { readonly uid: string; readonly content: JsonObject }>;

/**
 * Actor streams in the edge journal (the same SQLite file as the outbox and the desired objects).
 * `streams` is what the running process reads (durable state plus its commits in flight); after a
 * crash only durable commits remain.
 */
export interface EdgeActorJournal {
  readonly streams: ReadonlyMap<string, readonly DomainEvent[]>;
  /**
   * Appends events to one stream in one commit (synchronous=FULL). `committed` runs when the commit
   * is durable and only while this edge process lives, as the production ActorHost acts on an
   * event only after its append resolved.
   */
  append(stream: string, events: readonly DomainEvent[], committed: () => void): void;
  /** Deletes a stream whose actor is finished (a terminated pod, a removed twin), in one commit. */
  remove(stream: string, committed: () => void): void;
}

/** What the world gives the edge applications of one edge process life. */
export interface EdgeAppsPorts {
  readonly node: string;
  readonly time: SimulatedTime;
  /** This edge process; everything it schedules dies with it (pass it to `time.schedule`). */
  readonly life: Incarnation;
  /** The edge's wall clock in ms (SIMULATION_EPOCH_MS + time.now + this node's clock skew). */
  readonly wallMs: () => number;
  /** Fresh ids (run ids, event ids), deterministic per world. */
  readonly nextId: () => string;
  readonly journal: EdgeActorJournal;
  /**
   * Journals up events in the outbox in one commit (after the actor commit that caused them, as
   * production's EdgeHub.report); they reach the cloud whenever the link allows.
   */
  readonly report: (events: readonly UpEvent[]) => void;
  /** Records a broken invariant; the run fails with this message. */
  readonly violation: (message: string) => void;
}

// A network of connections between a cloud and edges whose faults a test drives: frames in flight
// can be dropped, duplicated, reordered and delayed, and connections closed. A closed connection
// delivers nothing more, as with TCP: frames never cross from one connection to the next.
import type { SimulatedTime } from './simulated-time.testing.js';

export type Direction = 'toCloud' | 'toEdge';

interface InFlight<F> {
  readonly frame: F;
  deliverAt: number;
}

/** What each end of a connection is told. */
export interface ConnectionEnds<U, D> {
  readonly cloud: { readonly frame: (frame: U) => void; readonly closed: (reason: string) => void };
  readonly edge: { readonly frame: (frame: D) => void; readonly closed: (reason: string) => void };
}

/** A fault planned for a frame not sent yet: most frames spend too little time in flight to be hit there. */
export type PlannedFault = { readonly fault: 'drop' | 'duplicate' | 'reorder' } | { readonly fault: 'delay'; readonly ms: number };

class Channel<F> {
  readonly queue: InFlight<F>[] = [];
  #pump: { cancel(): void } | undefined;
  #planned: { countdown: number; readonly fault: PlannedFault }[] = [];

  constructor(
    private readonly time: SimulatedTime,
    private readonly deliver: (frame: F) => void,
  ) {}

  send(frame: F, latencyMs: number): void {
    const faults = this.#due();
    if (faults.some((f) => f.fault === 'drop')) return;
    const extraMs = faults.reduce((sum, f) => sum + (f.fault === 'delay' ? f.ms : 0), 0);
    const last = this.queue[this.queue.length - 1];
    // FIFO by default: a frame never overtakes the one sent before it unless a fault says so.
    const inFlight = { frame, deliverAt: Math.max(this.time.now + latencyMs + extraMs, last?.deliverAt ?? 0) };
    if (faults.some((f) => f.fault === 'reorder') && last !== undefined) this.queue.splice(this.queue.length - 1, 0, { frame, deliverAt: last.deliverAt });
    else this.queue.push(inFlight);
    if (faults.some((f) => f.fault === 'duplicate')) this.queue.push({ ...inFlight });
    this.reschedule();
  }

  /** The `nth` frame sent from now on (1 = the next) suffers `fault`. */
  plan(nth: number, fault: PlannedFault): void {
    this.#planned.push({ countdown: nth, fault });
  }

  #due(): PlannedFault[] {
    for (const planned of this.#planned) planned.countdown -= 1;
    const due = this.#planned.filter((p) => p.countdown <= 0).map((p) => p.fault);
    this.#planned = this.#planned.filter((p) => p.countdown > 0);
    return due;
  }

  clear(): void {
    this.queue.length = 0;
    this.#pump?.cancel();
    this.#pump = undefined;
  }

  reschedule(): void {
    this.#pump?.cancel();
    const head = this.queue[0];
    if (head === undefined) return void (this.#pump = undefined);
    this.#pump = this.time.schedule(head.deliverAt - this.time.now, null, () => {
      this.#pump = undefined;
      const next = this.queue.shift();
      this.reschedule();
      if (next !== undefined) this.deliver(next.frame);
    });
  }
}

export class SimulatedConnection<U, D> {
  #state: 'open' | 'closing' | 'closed' = 'open';
  readonly toCloud: Channel<U>;
  readonly toEdge: Channel<D>;

  constructor(
    readonly id: number,
    readonly node: string,
    private readonly time: SimulatedTime,
    private readonly latencyMs: number,
    private readonly ends: ConnectionEnds<U, D>,
  ) {
    this.toCloud = new Channel(time, (frame) => this.#state !== 'closed' && (ends.cloud.frame(frame), this.#flushed()));
    this.toEdge = new Channel(time, (frame) => this.#state !== 'closed' && (ends.edge.frame(frame), this.#flushed()));
  }

  /** True until close: neither end may send after that. */
  get open(): boolean {
    return this.#state === 'open';
  }

  sendToCloud(frame: U): void {
    if (this.#state === 'open') this.toCloud.send(frame, this.latencyMs);
  }

  sendToEdge(frame: D): void {
    if (this.#state === 'open') this.toEdge.send(frame, this.latencyMs);
  }

  /**
   * Closes the connection. `flush` names the direction whose frames already sent still arrive, as
   * TCP delivers what the closing (or crashing) side wrote before it went; the other direction's
   * frames are lost. Without it (a network cut) everything in flight is lost. Each end hears of the
   * close on its own turn, after the flushed frames, never inside the caller's step.
   */
  close(reason: string, flush?: Direction): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    if (flush !== 'toCloud') this.toCloud.clear();
    if (flush !== 'toEdge') this.toEdge.clear();
    this.#reason = reason;
    this.#flushed();
  }

  #reason = '';

  /** Once nothing is left to flush, both ends are told. */
  #flushed(): void {
    if (this.#state !== 'closing' || this.toCloud.queue.length > 0 || this.toEdge.queue.length > 0) return;
    this.#state = 'closed';
    const reason = this.#reason;
    this.time.schedule(0, null, () => this.ends.cloud.closed(reason));
    this.time.schedule(0, null, () => this.ends.edge.closed(reason));
  }

  /** Loses the frame at `index` (modulo the frames in flight). */
  drop(direction: Direction, index: number): void {
    const channel = this.#channel(direction);
    if (channel.queue.length === 0) return;
    channel.queue.splice(index % channel.queue.length, 1);
    channel.reschedule();
    this.#flushed();
  }

  /** Delivers the frame at `index` twice: the copy goes last. */
  duplicate(direction: Direction, index: number): void {
    const channel = this.#channel(direction);
    const original = channel.queue[index % Math.max(1, channel.queue.length)];
    if (original === undefined) return;
    const last = channel.queue[channel.queue.length - 1]!;
    channel.queue.push({ frame: original.frame, deliverAt: last.deliverAt });
  }

  /** The frame at `index` overtakes every frame before it. */
  reorder(direction: Direction, index: number): void {
    const channel = this.#channel(direction);
    if (channel.queue.length < 2) return;
    const [moved] = channel.queue.splice(index % channel.queue.length, 1);
    channel.queue.unshift({ frame: moved!.frame, deliverAt: channel.queue[0]!.deliverAt });
    channel.reschedule();
  }

  /** The `nth` frame sent from now on in `direction` suffers `fault`. */
  plan(direction: Direction, nth: number, fault: PlannedFault): void {
    this.#channel(direction).plan(nth, fault);
  }

  /** Everything in flight in `direction` arrives `ms` later. */
  delay(direction: Direction, ms: number): void {
    const channel = this.#channel(direction);
    for (const inFlight of channel.queue) inFlight.deliverAt += ms;
    channel.reschedule();
  }

  /** Faults move frames around without looking at them, so either direction's type will do. */
  #channel(direction: Direction): Channel<U | D> {
    return (direction === 'toCloud' ? this.toCloud : this.toEdge) as unknown as Channel<U | D>;
  }
}

/** Opens connections with ids in creation order, so every run is the same run. */
export class SimulatedNetwork<U, D> {
  #nextId = 1;
  constructor(
    private readonly time: SimulatedTime,
    private readonly latencyMs: number,
  ) {}

  connect(node: string, ends: ConnectionEnds<U, D>): SimulatedConnection<U, D> {
    return new SimulatedConnection(this.#nextId++, node, this.time, this.latencyMs, ends);
  }
}

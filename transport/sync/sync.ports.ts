// The ports the hosts of the sync cores implement: the edge journal and the cloud's NodeSync
// record and effects. The cores never call them; a host executes the cores' decisions through them.
import type { Result } from '../../kernel/index.js';
import type { NewEvent } from '../../journal/index.js';
import type { AckedChange, AckedEntry } from './down-planner.js';
import type { DesiredChange, HeldObject } from './down-receiver.js';
import type { NodeSyncRecord } from './handshake.js';
import type { ObjectKey, UpEvent, Uid } from './sync.messages.js';
import type { OutboxCommit, OutboxEntry } from './up-sender.js';

/** The outbox head moved since the commit was prepared (another commit landed first, or failed). */
export interface WrongOutboxHead {
  readonly kind: 'WrongOutboxHead';
  readonly expected: number;
  readonly actual: number;
}

/**
 * The edge journal as the sync cores need it. Every write is one SQLite transaction committed with
 * synchronous=FULL in WAL mode (checked at open): an ack is only ever sent after it resolves.
 */
export interface EdgeSyncJournal {
  /** What the cores start from after a (re)start. */
  loadSyncState(): Promise<{
    /** Minted when the journal file was created. */
    readonly journalId: string;
    readonly clusterId: string | null;
    readonly outboxHead: number;
    /** Entries through here were compacted (0 if none). */
    readonly outboxFloor: number;
    readonly held: Iterable<readonly [ObjectKey, HeldObject]>;
  }>;
  /**
   * Journals `events` and appends `commit.entries` to the outbox in ONE transaction, refused with
   * WrongOutboxHead unless the outbox head is `commit.after` (then nothing is written).
   */
  commitWithOutbox(events: readonly NewEvent[], commit: OutboxCommit): Promise<Result<void, WrongOutboxHead>>;
  /** Outbox entries after+1 … in order, at most framesMax, at most bytesMax bytes unless the first alone exceeds it. */
  readOutbox(after: number, framesMax: number, bytesMax: number): Promise<readonly OutboxEntry[]>;
  /** Removes outbox entries through `through` (acknowledged by the cloud); the floor becomes `through`. */
  compactOutbox(through: number): Promise<void>;
  /** Applies desired changes and, when not null, records the cluster, in ONE transaction. */
  commitDesired(changes: readonly DesiredChange[], clusterId: string | null): Promise<void>;
}

/**
 * The cloud's per-node sync record (the NodeSync object, written with resourceVersion
 * preconditions). Each method resolves once the write is durable.
 */
export interface NodeSyncStore {
  load(nodeName: string): Promise<{ readonly record: NodeSyncRecord | undefined; readonly acked: Iterable<readonly [Uid, AckedEntry]> }>;
  /**
   * Records the applied up position as nextNodeSyncRecord computes it: a new journal replaces (and
   * retires) the recorded one here, never at the handshake; a retired journal writes nothing.
   */
  recordUpApplied(nodeName: string, journalId: string, upApplied: number): Promise<void>;
  /** Applies `changes` to `acked` (recordIntent and recordAcked decisions). */
  recordAcked(nodeName: string, changes: readonly AckedChange[]): Promise<void>;
  /** Full resync: every acked entry keeps its uid and key but loses its revision and hash. */
  forgetAckedRevisions(nodeName: string): Promise<void>;
}

/**
 * Performs the Kubernetes writes an up event implies (Node/Pod status, twin reported values).
 * Idempotent per (journalId, seq): each status write carries the edge position it reflects and is
 * skipped when the stored one is not older, so a replay after a crash changes nothing.
 */
export interface UpEffects {
  perform(nodeName: string, journalId: string, seq: number, event: UpEvent): Promise<void>;
}

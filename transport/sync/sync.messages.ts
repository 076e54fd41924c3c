// The messages of the cloud–edge stream (PROTOCOL.md), independent of the wire format: each one
// maps to one beehive message (transport/frames), `seq` and `upTo` to edgehive's header additions.
import { invariant, type JsonValue } from '../../kernel/index.js';

/** A Kubernetes resourceVersion as the API server mints it: decimal digits, ordered numerically. */
export type ResourceVersion = string;

/** A Kubernetes object uid: identifies one incarnation of an object; a re-created object has a new one. */
export type Uid = string;

/**
 * Names an object inside a node's desired set, stable across re-creations (a new uid under the
 * same key replaces the old object): `<resource>/<namespace>/<name>`, e.g. `configmaps/default/app`,
 * with an empty namespace for cluster-scoped objects (`nodes//edge-1`). It is what the beehive
 * resource string is built from.
 */
export type ObjectKey = string;

/** An edge event that goes up: its past-tense, versioned type and its payload (beehive content). */
export interface UpEvent {
  readonly type: string;
  readonly data: JsonValue;
}

/** Edge → cloud: outbox entry `seq` (gap-free per edge journal, from 1). */
export interface UpFrame {
  readonly kind: 'up';
  readonly seq: number;
  readonly event: UpEvent;
}

/**
 * Either way, cumulative: "every sequenced frame up to `upTo` that you sent me is durably applied".
 * The cloud sends it for up frames, the edge for down frames, so it needs no direction field.
 */
export interface AckFrame {
  readonly kind: 'ack';
  readonly upTo: number;
}

/** Cloud → edge: the newest desired content of one object (status, managedFields and resourceVersion stripped). */
export interface DesiredFrame {
  readonly kind: 'desired';
  /** Per connection, from 1: only for flow control and the cumulative ack. */
  readonly seq: number;
  readonly uid: Uid;
  readonly key: ObjectKey;
  readonly resourceVersion: ResourceVersion;
  readonly contentHash: string;
  readonly content: JsonValue;
}

/** Cloud → edge: the object `uid` is no longer desired on this node (deleted, or no longer bound to it). */
export interface TombstoneFrame {
  readonly kind: 'tombstone';
  readonly seq: number;
  readonly uid: Uid;
  readonly key: ObjectKey;
  /** At least the resourceVersion of every revision sent before; an edge holding a newer one keeps it. */
  readonly resourceVersion: ResourceVersion;
}

/**
 * Cloud → edge: every object desired at this point has been sent on this connection or acknowledged
 * before it. After a full resync, the edge removes what the resync did not confirm when it applies this.
 */
export interface SyncedFrame {
  readonly kind: 'synced';
  readonly seq: number;
}

/** The sequenced cloud → edge frames. */
export type DownFrame = DesiredFrame | TombstoneFrame | SyncedFrame;

/** The first frame from the edge on every connection. */
export interface EdgeHello {
  readonly kind: 'hello';
  readonly role: 'edge';
  readonly protocolVersion: number;
  readonly nodeName: string;
  /** The cluster this edge last completed a full sync with; null for a journal that never did. */
  readonly clusterId: string | null;
  /** Minted when the edge journal was created; a new one means a new up log starting at 1. */
  readonly journalId: string;
  /** Outbox entries up to here may be compacted: a cloud without a record resumes after it. */
  readonly upFloor: number;
  /** The last outbox seq committed. */
  readonly outboxHead: number;
}

/** The cloud's answer to the edge's hello: its first frame on the connection. */
export interface CloudHello {
  readonly kind: 'hello';
  readonly role: 'cloud';
  readonly protocolVersion: number;
  readonly nodeName: string;
  /** The uid of namespace kube-system. */
  readonly clusterId: string;
  /** The edge journal the cloud's record now follows (always the hello's journalId once accepted). */
  readonly journalId: string;
  /** The cloud has durably applied the edge's outbox through here; the edge resumes right after it. */
  readonly upAcked: number;
  /** `full`: both sides dropped their ack records (clusterId or journalId changed); down starts over. */
  readonly sync: SyncMode;
}

/** Resume from the recorded positions, or start the down direction over from nothing acknowledged. */
export type SyncMode = 'resume' | 'full';

export type EdgeToCloudFrame = EdgeHello | UpFrame | AckFrame;
export type CloudToEdgeFrame = CloudHello | DownFrame | AckFrame;

const decimal = /^(0|[1-9][0-9]*)$/;

/** True for what this protocol accepts as a resourceVersion; decoders refuse anything else. */
export const isResourceVersion = (value: string): boolean => decimal.test(value) && value.length <= 20;

/**
 * Orders resourceVersions numerically (PROTOCOL.md: "version-compare (numeric RV)"), as etcd mints
 * them. Negative when `a` is older. Strings keep the full 64-bit range without BigInt.
 */
export function compareResourceVersions(a: ResourceVersion, b: ResourceVersion): number {
  invariant(isResourceVersion(a), 'a resourceVersion reaching the sync cores is decimal (decoders refuse others)');
  invariant(isResourceVersion(b), 'a resourceVersion reaching the sync cores is decimal (decoders refuse others)');
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

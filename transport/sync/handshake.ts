// The hello exchange as pure functions: the edge speaks first; the cloud checks who it is, decides
// between resuming and a full resync from what it recorded, and answers; the edge checks the answer.
// Refusals are values with a reason fit for a websocket close (at most 123 bytes).
import { err, ok, type Result } from '../../kernel/index.js';
import { utf8Bytes } from './sync.limits.js';
import type { CloudHello, CloudToEdgeFrame, EdgeHello, EdgeToCloudFrame, SyncMode } from './sync.messages.js';

/** The version of this protocol; peers speaking another one are refused, never half-understood. */
export const syncProtocolVersion = 1;

/** The cloud's durable per-node record of the up direction (in NodeSync, beside `acked`). */
export interface NodeSyncRecord {
  /** The edge journal whose outbox the cloud follows. */
  readonly journalId: string;
  /** Applied through here (the up receiver's `recorded`). */
  readonly upApplied: number;
  /**
   * Journals this node had before, newest first, at most retiredJournalsMax: a hello naming one is
   * stale (sent before a crash, delivered late) or from a restored old disk, and never wins back the record.
   */
  readonly retiredJournalIds: readonly string[];
}

/** How many replaced journals a NodeSync record remembers. */
export const retiredJournalsMax = 16;

/**
 * The record after `upApplied` was applied for `journalId`: a new journal retires the recorded one.
 * What NodeSyncStore.recordUpApplied writes; undefined when the journal is retired (a stale writer).
 */
export function nextNodeSyncRecord(record: NodeSyncRecord | undefined, journalId: string, upApplied: number): NodeSyncRecord | undefined {
  if (record === undefined) return { journalId, upApplied, retiredJournalIds: [] };
  if (record.journalId === journalId) return { ...record, upApplied: Math.max(record.upApplied, upApplied) };
  if (record.retiredJournalIds.includes(journalId)) return undefined;
  return { journalId, upApplied, retiredJournalIds: [record.journalId, ...record.retiredJournalIds].slice(0, retiredJournalsMax) };
}

/** Why a handshake failed, with the websocket close code the host should use. */
export type HandshakeRefusal = {
  readonly kind: 'HelloExpected' | 'ProtocolVersionMismatch' | 'NodeNameMismatch' | 'InvalidHello' | 'JournalRetired' | 'EdgeJournalBehind' | 'OutboxCompactedUnapplied';
  readonly closeCode: number;
  readonly reason: string;
};

/**
 * The cloud's side of a successful handshake. Nothing is written: a hello may be stale (sent by an
 * edge that crashed since, delivered late), so it never changes NodeSync by itself. A new journal
 * reaches NodeSync with its first recorded position (NodeSyncStore.recordUpApplied).
 */
export interface CloudAgreement {
  readonly hello: CloudHello;
  readonly mode: SyncMode;
  /** The up receiver for this journal starts here, unless one already follows this journal. */
  readonly up: { readonly journalId: string; readonly applied: number };
}

/** The edge's side of a successful handshake. */
export interface EdgeAgreement {
  readonly mode: SyncMode;
  readonly clusterId: string;
  /** Resume the up direction right after this (upLinkUp). */
  readonly upAcked: number;
  /**
   * After a full resync the cloud may lack history the edge compacted (a new cluster): the edge
   * appends one event reporting its current state, so status converges without that history.
   */
  readonly reportState: boolean;
}

/** Builds the edge's hello from its journal's identity and the two edge cores' durable facts. */
export function edgeHello(edge: { readonly nodeName: string; readonly journalId: string; readonly clusterId: string | null; readonly upFloor: number; readonly outboxHead: number }): EdgeHello {
  return { kind: 'hello', role: 'edge', protocolVersion: syncProtocolVersion, ...edge };
}

/**
 * The cloud answers the first frame of a connection. `nodeName` is the node the client certificate
 * names; `record` is what NodeSync holds for it (undefined for a node never seen, or a new cluster),
 * with `upApplied` from a live up receiver when it follows the same journal (it is durable and newer).
 * - clusterId (as the edge last synced it) and journalId both as recorded: resume.
 * - Otherwise a full resync; if the journal is not the recorded one, the up direction starts over
 *   at the edge's compaction floor: what is below was applied by a cluster that is gone, or never existed.
 * - A journal the record retired is refused: that hello is stale, or the disk an old one.
 */
export function answerEdgeHello(
  frame: EdgeToCloudFrame,
  cloud: { readonly nodeName: string; readonly clusterId: string; readonly record: NodeSyncRecord | undefined },
): Result<CloudAgreement, HandshakeRefusal> {
  if (frame.kind !== 'hello') return refuse('HelloExpected', 1002, `expected hello as the first frame, got ${frame.kind}`);
  const checked = checkPeer(frame, cloud.nodeName, 'cloud');
  if (checked !== undefined) return err(checked);
  if (!isPosition(frame.upFloor) || !isPosition(frame.outboxHead) || frame.upFloor > frame.outboxHead) {
    return refuse('InvalidHello', 1002, `hello positions are inconsistent: upFloor ${frame.upFloor}, outboxHead ${frame.outboxHead}`);
  }
  if (cloud.record?.retiredJournalIds.includes(frame.journalId)) {
    return refuse('JournalRetired', 4409, `journal ${frame.journalId} was replaced by ${cloud.record.journalId}: a stale hello, or an old disk; re-provision it`);
  }
  const known = cloud.record !== undefined && cloud.record.journalId === frame.journalId ? cloud.record : undefined;
  if (known !== undefined && known.upApplied > frame.outboxHead) {
    return refuse('EdgeJournalBehind', 4409, `edge outbox head ${frame.outboxHead} is behind applied ${known.upApplied}: journal went back; re-provision it`);
  }
  if (known !== undefined && known.upApplied < frame.upFloor) {
    return refuse('OutboxCompactedUnapplied', 4409, `edge compacted its outbox to ${frame.upFloor}, past applied ${known.upApplied}`);
  }
  const mode: SyncMode = known !== undefined && frame.clusterId === cloud.clusterId ? 'resume' : 'full';
  const up = { journalId: frame.journalId, applied: known?.upApplied ?? frame.upFloor };
  const hello: CloudHello = {
    kind: 'hello',
    role: 'cloud',
    protocolVersion: syncProtocolVersion,
    nodeName: frame.nodeName,
    clusterId: cloud.clusterId,
    journalId: up.journalId,
    upAcked: up.applied,
    sync: mode,
  };
  return ok({ hello, mode, up });
}

/** The edge checks the cloud's answer against its own hello. */
export function acceptCloudHello(ours: EdgeHello, frame: CloudToEdgeFrame): Result<EdgeAgreement, HandshakeRefusal> {
  if (frame.kind !== 'hello') return refuse('HelloExpected', 1002, `expected hello as the first frame, got ${frame.kind}`);
  const checked = checkPeer(frame, ours.nodeName, 'edge');
  if (checked !== undefined) return err(checked);
  if (frame.journalId !== ours.journalId) return refuse('InvalidHello', 1002, `cloud answered for journal ${frame.journalId}, this edge's is ${ours.journalId}`);
  if (frame.clusterId !== ours.clusterId && frame.sync !== 'full') return refuse('InvalidHello', 1002, `cluster changed to ${frame.clusterId} but the cloud did not ask for a full resync`);
  if (!isPosition(frame.upAcked) || frame.upAcked < ours.upFloor || frame.upAcked > ours.outboxHead) {
    return refuse('InvalidHello', 1002, `cloud upAcked ${frame.upAcked} is outside this outbox (${ours.upFloor}…${ours.outboxHead})`);
  }
  return ok({ mode: frame.sync, clusterId: frame.clusterId, upAcked: frame.upAcked, reportState: frame.sync === 'full' });
}

/** Version and identity, checked the same way by both sides. */
function checkPeer(hello: EdgeHello | CloudHello, nodeName: string, self: 'cloud' | 'edge'): HandshakeRefusal | undefined {
  if (hello.protocolVersion !== syncProtocolVersion) {
    return refusal('ProtocolVersionMismatch', 4426, `peer speaks sync protocol v${hello.protocolVersion}, this ${self} speaks v${syncProtocolVersion}: upgrade the older side`);
  }
  if (hello.nodeName !== nodeName) return refusal('NodeNameMismatch', 4403, `hello names node ${hello.nodeName}, this connection is node ${nodeName}`);
  return undefined;
}

const isPosition = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** A websocket close reason holds at most 123 bytes of UTF-8. */
export const closeReasonBytesMax = 123;

function refusal(kind: HandshakeRefusal['kind'], closeCode: number, reason: string): HandshakeRefusal {
  let fitted = reason;
  while (utf8Bytes(fitted) > closeReasonBytesMax) fitted = `${fitted.slice(0, -2)}…`;
  return { kind, closeCode, reason: fitted };
}

const refuse = (kind: HandshakeRefusal['kind'], closeCode: number, reason: string) => err(refusal(kind, closeCode, reason));

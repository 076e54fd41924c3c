// Position fencing for status writes, as pure decisions: each Pod/Node status written carries the
// edge position (journalId, seq) it reflects, and a write is skipped when the stored one is newer,
// so a paused old owner (DESIGN.md, Scaling past one machine) never overwrites newer status.
//
// Where the position lives: in a status condition of our own type, `edgehive.io/StatusPosition`,
// written in the same status patch (one write, guarded by the resourceVersion it was compared at).
// An annotation would be the natural place, but a status patch may not carry it everywhere: a real
// kube-apiserver keeps metadata changes on pods/status (its podStatusStrategy resets only spec,
// deletionTimestamp and ownerReferences) while other servers, ours included, take nothing but status
// from a /status write, and two writes (metadata, then status) would not be atomic. Custom condition
// types are valid on both pods (a qualified name, as readiness gates use) and nodes (as
// node-problem-detector adds them); without a readiness gate naming it, it changes no readiness.
//
// Which journal is newer: an edge re-provisioned gets a new journal whose positions start low, so
// two journals cannot be ordered by seq, and journal ids carry no order. The order lives on the
// Node, the one object every writer for that edge shares: annotation `edgehive.io/journal-lineage`
// lists the node's journals, newest first (bounded). A writer records its journal there (guarded by
// resourceVersion) before its first status write for that node, unless it is listed as retired. A
// write whose journal differs from the stored one then goes ahead only when its journal is the
// lineage's newest, read after the object was: a stale owner's journal was retired before the new
// journal wrote anything, so it is skipped, whichever object it writes.
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { arrayAt, objectAt, stringAt } from '../kube/json-fields.js';

/** The status condition type that carries the edge position a status reflects. */
export const STATUS_POSITION_CONDITION = 'edgehive.io/StatusPosition';
/** The Node annotation listing the node's edge journals, newest first, as a JSON array of strings. */
export const JOURNAL_LINEAGE_ANNOTATION = 'edgehive.io/journal-lineage';
/** Journals a lineage remembers (as NodeSync's retiredJournalsMax + 1 for the current one). */
export const JOURNAL_LINEAGE_MAX = 17;

/** A position in an edge's up log: its journal and the outbox sequence number there. */
export interface EdgePosition {
  readonly journalId: string;
  readonly seq: number;
}

/** `journalId/seq`, the condition's message. */
export const formatPosition = (p: EdgePosition): string => `${p.journalId}/${p.seq}`;

/** The position in a condition message; undefined when it is not one (e.g. overwritten as Unknown). */
export function parsePosition(text: string | undefined): EdgePosition | undefined {
  if (text === undefined) return undefined;
  const slash = text.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const seq = Number(text.slice(slash + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { journalId: text.slice(0, slash), seq };
}

const isPositionCondition = (c: unknown): boolean => stringAt(c, 'type') === STATUS_POSITION_CONDITION;

/** The position the stored status reflects, if it carries one. */
export function storedPositionOf(status: unknown): EdgePosition | undefined {
  const condition = arrayAt(status, 'conditions').find(isPositionCondition);
  return stringAt(condition, 'status') === 'True' ? parsePosition(stringAt(condition, 'message')) : undefined;
}

/** The status as the edge reported it: without our position condition. */
export function withoutPosition(status: unknown): JsonObject {
  if (!isJsonObject(status)) return {};
  if (!Array.isArray(status['conditions'])) return status as JsonObject;
  return { ...status, conditions: arrayAt(status, 'conditions').filter((c) => !isPositionCondition(c)) } as JsonObject;
}

/**
 * The reported status with the position condition added (replacing any the edge sent). A merge
 * patch replaces the whole conditions list, so a report without conditions keeps the stored ones
 * (`stored`), as a patch without the field would have.
 */
export function withPosition(status: Record<string, unknown>, position: EdgePosition, stored?: unknown): JsonObject {
  const condition = { type: STATUS_POSITION_CONDITION, status: 'True', reason: 'EdgePosition', message: formatPosition(position) };
  const reported = Array.isArray(status['conditions']) ? status['conditions'] : arrayAt(stored, 'conditions');
  return { ...status, conditions: [...reported.filter((c) => !isPositionCondition(c)), condition] } as JsonObject;
}

/** What to do with a status write given the position stored on the object. */
export type FenceVerdict =
  | { readonly kind: 'write' }
  | { readonly kind: 'skip'; readonly why: string }
  /** Another journal wrote last: the node's lineage decides (journalLineageVerdict). */
  | { readonly kind: 'askLineage' };

/**
 * Same journal: only a later seq writes (the same seq is the same event applied again after a
 * crash, already written). No stored position (never written, or overwritten by another writer):
 * write. Another journal: ask the lineage.
 */
export function fenceVerdict(stored: EdgePosition | undefined, incoming: EdgePosition): FenceVerdict {
  if (stored === undefined) return { kind: 'write' };
  if (stored.journalId !== incoming.journalId) return { kind: 'askLineage' };
  if (incoming.seq > stored.seq) return { kind: 'write' };
  return { kind: 'skip', why: `stored position ${formatPosition(stored)} is not older than ${formatPosition(incoming)}` };
}

/**
 * A write over another journal's status: it goes ahead when its journal is the node's newest, or
 * when the lineage knows neither journal (the Node was re-created, or never had one); a journal the
 * lineage lists as retired, or does not list while it lists the stored one, is stale.
 */
export function journalLineageVerdict(lineage: readonly string[], stored: EdgePosition, incoming: EdgePosition): FenceVerdict {
  const at = lineage.indexOf(incoming.journalId);
  if (at === 0) return { kind: 'write' };
  if (at < 0 && !lineage.includes(stored.journalId)) return { kind: 'write' };
  return { kind: 'skip', why: `journal ${incoming.journalId} is not the node's newest (${lineage[0] ?? 'none'})` };
}

/** The lineage on a Node object (empty when it has none). */
export function lineageOf(node: unknown): string[] {
  const text = stringAt(objectAt(objectAt(node, 'metadata'), 'annotations'), JOURNAL_LINEAGE_ANNOTATION);
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    // Edited by hand into something else: as good as none (the next writer records a fresh one).
    return [];
  }
}

/** What recording `journalId` as the node's newest journal takes. */
export type LineageStep =
  | { readonly kind: 'current' }
  | { readonly kind: 'retired' }
  | { readonly kind: 'record'; readonly lineage: readonly string[]; readonly annotation: string };

/** A journal already newest stays; one listed further down was retired (a stale writer); else it goes first. */
export function recordJournal(lineage: readonly string[], journalId: string): LineageStep {
  if (lineage[0] === journalId) return { kind: 'current' };
  if (lineage.includes(journalId)) return { kind: 'retired' };
  const next = [journalId, ...lineage].slice(0, JOURNAL_LINEAGE_MAX);
  return { kind: 'record', lineage: next, annotation: JSON.stringify(next) };
}

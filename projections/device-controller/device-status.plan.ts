// KubeEdge's DeviceController, upstream half, as pure decisions: an edge's twin and state reports
// (projections/reports/edge-reports.ts) are parsed at the boundary, coalesced per device, and planned
// into the `status` to write on the Device in the API (kubeedge-reference.md §5.2 and appendix rule
// 48: edge `actual` → `status.twins[].reported`, edge `expected` → `observedDesired`), or a reason
// to write nothing.
//
// Fencing (DESIGN.md, Scaling past one machine): every write carries the edge position
// (journalId, seq) it reflects and is skipped when the stored one is newer. Where the position
// lives: the Device CRD's status has no conditions and a structural schema prunes unknown fields,
// metadata is not writable through /status (a real apiserver's CRD status strategy copies all but
// status from the stored object), and two writes would not be atomic. The one place the KubeEdge
// schema leaves open is the string map `metadata` of each twin's `reported` and `observedDesired`,
// so every entry carries key `edgehive.io/position` = `journalId/seq` of the write that made it.
// Every write restamps all entries (a state-only write rewrites the stored twins with the new
// stamp), so the entries always agree and name the last write. Every live property keeps an entry,
// with an empty observedDesired when it has no value (the twin property found an older report
// overwriting a status whose entries had all gone). A device with no live property at all has
// nowhere to hold a position: its writes go ahead unfenced, and an older report applied again by a
// stale writer can bring back its previous status until the edge's next report (upstream fences
// nothing). Positions of two journals are ordered by the
// node's journal lineage, as for pods (status-writer.position.ts).
import { err, isJsonObject, ok, type JsonObject, type Result } from '../../kernel/index.js';
import { arrayAt, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { fenceVerdict, formatPosition, journalLineageVerdict, parsePosition, type EdgePosition } from '../edge-controller/status-writer.position.js';

/** The twin metadata key holding the edge position a Device status reflects. */
export const DEVICE_POSITION_KEY = 'edgehive.io/position';
/** Properties one twin report may carry (a Device object is bounded by the API's object size anyway). */
export const TWIN_PROPERTIES_MAX = 4_096;
/** Characters a property name, value type, state or time may have; longer ones are malformed. */
const LABEL_CHARS_MAX = 1_024;
/** Characters a twin value may have (KubeEdge allows 512; values from newer mappers may be longer). */
const VALUE_CHARS_MAX = 65_536;

/** One side of a twin as reported: the value and its metadata as the Device CRD writes them. */
export interface TwinSide {
  readonly value: string;
  /** Milliseconds since the epoch, as upstream writes it (a decimal string); absent when unknown. */
  readonly timestamp: string | undefined;
}

/** A live property: its type and whichever sides carry a value. */
export interface ReportedTwin {
  readonly type: string;
  readonly actual: TwinSide | undefined;
  readonly expected: TwinSide | undefined;
}

/** The device a report is about. */
export interface DeviceRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** A parsed TWIN_REPORTED: every live property (deleted ones are left out: they leave the list). */
export interface TwinReport extends DeviceRef {
  readonly kind: 'twins';
  readonly twins: ReadonlyMap<string, ReportedTwin>;
}

/** A parsed DEVICE_STATE_REPORTED. */
export interface StateReport extends DeviceRef {
  readonly kind: 'state';
  readonly state: string;
  /** RFC 3339, or undefined when the edge sent none (the stored one is kept: it says when the device was last online). */
  readonly lastOnlineTime: string | undefined;
}

const isLabel = (text: string): boolean => text !== '' && text.length <= LABEL_CHARS_MAX;

/** `device/<ns>/<name>/<tail>` → the namespace and name, when the resource has exactly that shape. */
function deviceOfResource(resource: string | undefined, tail: string): { namespace: string; name: string } | undefined {
  const parts = resource?.split('/') ?? [];
  if (parts.length !== 5 || parts[0] !== 'device' || `${parts[3]}/${parts[4]}` !== tail) return undefined;
  const [, namespace = '', name = ''] = parts;
  return isLabel(namespace) && isLabel(name) ? { namespace, name } : undefined;
}

/** A millisecond timestamp as upstream writes it in twin metadata: a decimal string. */
function timestampText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return String(Math.trunc(value));
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return value;
  return undefined;
}

/** One side (`expected` or `actual`): absent, null or without a value is no side; a value that is not a scalar is malformed. */
function sideOf(raw: unknown, fallbackTimestamp: string | undefined): Result<TwinSide | undefined, string> {
  if (raw === undefined || raw === null) return ok(undefined);
  if (!isJsonObject(raw)) return err('a twin side is not an object');
  const value = raw['value'];
  if (value === undefined || value === null) return ok(undefined);
  // KubeEdge's values are strings; a sloppy mapper's number or boolean is kept as its text.
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  if (text === undefined || text.length > VALUE_CHARS_MAX) return err('a twin value is not a string (or is too long)');
  return ok({ value: text, timestamp: timestampText(objectAt(raw, 'metadata')?.['timestamp']) ?? fallbackTimestamp });
}

/** One property of the report's `twin` map: null or type `deleted` is gone. */
function twinOf(raw: unknown, fallbackTimestamp: string | undefined): Result<ReportedTwin | undefined, string> {
  if (raw === null) return ok(undefined);
  if (!isJsonObject(raw)) return err('a twin is neither an object nor null');
  const type = stringAt(objectAt(raw, 'metadata'), 'type') ?? 'string';
  if (!isLabel(type)) return err('a twin type is empty or too long');
  if (type === 'deleted') return ok(undefined);
  const actual = sideOf(raw['actual'], fallbackTimestamp);
  if (!actual.ok) return actual;
  const expected = sideOf(raw['expected'], fallbackTimestamp);
  if (!expected.ok) return expected;
  return ok({ type, actual: actual.value, expected: expected.value });
}

/** The device a report's `resource` and `UID` name. */
function refOf(data: unknown, tail: string): Result<DeviceRef, string> {
  const device = deviceOfResource(stringAt(data, 'resource'), tail);
  if (device === undefined) return err(`resource is not device/<namespace>/<name>/${tail}`);
  const uid = stringAt(data, 'UID');
  if (uid === undefined || !isLabel(uid)) return err('UID missing');
  return ok({ ...device, uid });
}

/** Parses a TWIN_REPORTED event's data (edge-reports.ts); an error says what is malformed. */
export function parseTwinReport(data: unknown): Result<TwinReport, string> {
  const ref = refOf(data, 'twin/edge_updated');
  if (!ref.ok) return ref;
  const twin = objectAt(data, 'twin');
  if (twin === undefined) return err('twin missing');
  const entries = Object.entries(twin);
  if (entries.length > TWIN_PROPERTIES_MAX) return err(`more than ${TWIN_PROPERTIES_MAX} properties`);
  const fallbackTimestamp = timestampText(isJsonObject(data) ? data['timestamp'] : undefined);
  const twins = new Map<string, ReportedTwin>();
  for (const [property, raw] of entries) {
    if (!isLabel(property)) return err('a property name is empty or too long');
    const parsed = twinOf(raw, fallbackTimestamp);
    if (!parsed.ok) return err(`${property}: ${parsed.error}`);
    if (parsed.value !== undefined) twins.set(property, parsed.value);
  }
  return ok({ kind: 'twins', ...ref.value, twins });
}

/** Parses a DEVICE_STATE_REPORTED event's data (edge-reports.ts); an error says what is malformed. */
export function parseStateReport(data: unknown): Result<StateReport, string> {
  const ref = refOf(data, 'state/update');
  if (!ref.ok) return ref;
  const device = objectAt(data, 'device');
  const state = stringAt(device, 'state');
  if (state === undefined || !isLabel(state)) return err('device.state missing');
  const lastOnlineTime = stringAt(device, 'lastOnlineTime');
  if (lastOnlineTime !== undefined && lastOnlineTime.length > LABEL_CHARS_MAX) return err('device.lastOnlineTime too long');
  return ok({ kind: 'state', ...ref.value, state, lastOnlineTime: lastOnlineTime === '' ? undefined : lastOnlineTime });
}

/** A report with the edge position it was performed at. */
export interface Positioned<R> {
  readonly report: R;
  readonly position: EdgePosition;
}

/** One device's pending write: the newest twin report and the newest state report, as the queue holds them. */
export interface DeviceStatusJob extends DeviceRef {
  /** The node that reported (the one performing the up event). */
  readonly node: string;
  /** The position the write reflects: the newer of its parts'. */
  readonly position: EdgePosition;
  readonly twins: Positioned<TwinReport> | undefined;
  readonly state: Positioned<StateReport> | undefined;
}

/** Whether `a` is older than `b` in the edge's log (another journal: `b` came later, so it is newer). */
const olderThan = (a: EdgePosition, b: EdgePosition): boolean => a.journalId !== b.journalId || a.seq < b.seq;

const newerPart = <R>(held: Positioned<R> | undefined, arriving: Positioned<R> | undefined): Positioned<R> | undefined => {
  if (held === undefined) return arriving;
  if (arriving === undefined) return held;
  return olderThan(held.position, arriving.position) ? arriving : held;
};

/** The job for one report. */
export function jobOf(node: string, position: EdgePosition, report: TwinReport | StateReport): DeviceStatusJob {
  const { namespace, name, uid } = report;
  return report.kind === 'twins'
    ? { node, namespace, name, uid, position, twins: { report, position }, state: undefined }
    : { node, namespace, name, uid, position, twins: undefined, state: { report, position } };
}

/**
 * Of a pending job and a new one for the same device (same uid), the job a write should carry:
 * the newest twin report and the newest state report, each kept whole (a twin report is the whole
 * twin, so the newer replaces the older; a state report does not replace twins). A job from another
 * node or journal replaces the held one whole: parts of two edges' logs are never mixed in one
 * write under one position (the held parts' write would have been fenced or skipped anyway).
 */
export function mergeJobs(held: DeviceStatusJob, arriving: DeviceStatusJob): DeviceStatusJob {
  if (held.node !== arriving.node || held.position.journalId !== arriving.position.journalId) return arriving;
  return {
    ...arriving,
    position: olderThan(held.position, arriving.position) ? arriving.position : held.position,
    twins: newerPart(held.twins, arriving.twins),
    state: newerPart(held.state, arriving.state),
  };
}

/** The twin sides of a stored entry that may carry the position. */
const SIDES = ['reported', 'observedDesired'] as const;

/** The position a stored Device status reflects: the stamp of its first stamped twin entry. */
export function storedDevicePosition(status: unknown): EdgePosition | undefined {
  for (const entry of arrayAt(status, 'twins')) {
    for (const side of SIDES) {
      const position = parsePosition(stringAt(objectAt(objectAt(entry, side), 'metadata'), DEVICE_POSITION_KEY));
      if (position !== undefined) return position;
    }
  }
  return undefined;
}

const sideEntry = (side: TwinSide, type: string, stamp: string): JsonObject => ({
  value: side.value,
  metadata: { ...(side.timestamp === undefined ? {} : { timestamp: side.timestamp }), type, [DEVICE_POSITION_KEY]: stamp },
});

/** `spec.properties[].name` in order: the order the twins list follows. */
const propertyOrderOf = (device: unknown): string[] =>
  arrayAt(objectAt(device, 'spec'), 'properties')
    .map((p) => stringAt(p, 'name'))
    .filter((n): n is string => n !== undefined);

/**
 * The `status.twins` a twin report makes: one entry per live property with its reported and
 * observedDesired values (an empty observedDesired when it has neither), in the order of
 * `spec.properties`, then the others by name.
 */
export function twinsOf(report: TwinReport, propertyOrder: readonly string[], position: EdgePosition): JsonObject[] {
  const stamp = formatPosition(position);
  const rank = new Map(propertyOrder.map((name, index) => [name, index]));
  const names = [...report.twins.keys()].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0));
  const entries: JsonObject[] = [];
  for (const name of names) {
    const twin = report.twins.get(name);
    if (twin === undefined) continue;
    // A live property with neither value still gets an entry, its observedDesired empty ("" is "no
    // expectation", as a Device's desired ""): the entry carries the position, so a Device whose
    // properties all lost their values stays fenced against an older report applied again.
    const expected = twin.expected ?? (twin.actual === undefined ? { value: '', timestamp: undefined } : undefined);
    entries.push({
      propertyName: name,
      ...(twin.actual === undefined ? {} : { reported: sideEntry(twin.actual, twin.type, stamp) }),
      ...(expected === undefined ? {} : { observedDesired: sideEntry(expected, twin.type, stamp) }),
    });
  }
  return entries;
}

/** The stored twins with every entry's sides restamped (a write without a twin report still moves the position). */
export function restampedTwins(status: unknown, position: EdgePosition): JsonObject[] {
  const stamp = formatPosition(position);
  return arrayAt(status, 'twins')
    .filter(isJsonObject)
    .map((entry) => {
      const next: Record<string, unknown> = { ...entry };
      for (const side of SIDES) {
        const value = objectAt(entry, side);
        if (value !== undefined) next[side] = { ...value, metadata: { ...(objectAt(value, 'metadata') ?? {}), [DEVICE_POSITION_KEY]: stamp } };
      }
      // Parsed from the API's JSON and extended with strings: JSON still.
      return next as JsonObject;
    });
}

/** Why a job writes nothing. */
export type DeviceStatusSkip =
  /** No Device of that name exists. */
  | { readonly kind: 'gone' }
  /** The Device was deleted and created again: the report is about its predecessor. */
  | { readonly kind: 'uidMismatch'; readonly stored: string }
  /** The Device is bound to another node now (or to none): the reporting edge no longer owns its status. */
  | { readonly kind: 'otherNode'; readonly boundTo: string | undefined }
  /** The stored status reflects a position that is not older (applied again, or a stale writer). */
  | { readonly kind: 'stale'; readonly why: string; readonly stored: EdgePosition | undefined };

/** What to do with a job against the Device in the API. */
export type DeviceStatusPlan =
  | { readonly kind: 'write'; readonly status: JsonObject; readonly resourceVersion: string | undefined }
  | { readonly kind: 'skip'; readonly skip: DeviceStatusSkip }
  /** The stored position is another journal's: ask again with the node's journal lineage. */
  | { readonly kind: 'askLineage' };

/**
 * Plans the write of `job` over `device` (undefined: not found). `lineage` is the node's journal
 * lineage, needed only when the plan asked for it.
 * @example
 * let plan = planDeviceStatus(job, device);
 * if (plan.kind === 'askLineage') plan = planDeviceStatus(job, device, lineageOf(node));
 */
export function planDeviceStatus(job: DeviceStatusJob, device: JsonObject | undefined, lineage?: readonly string[]): DeviceStatusPlan {
  if (device === undefined) return { kind: 'skip', skip: { kind: 'gone' } };
  if (uidOf(device) !== job.uid) return { kind: 'skip', skip: { kind: 'uidMismatch', stored: uidOf(device) } };
  const boundTo = stringAt(objectAt(device, 'spec'), 'nodeName');
  if (boundTo !== job.node) return { kind: 'skip', skip: { kind: 'otherNode', boundTo } };
  const stored = objectAt(device, 'status');
  const storedPosition = storedDevicePosition(stored);
  let verdict = fenceVerdict(storedPosition, job.position);
  if (verdict.kind === 'askLineage') {
    if (lineage === undefined || storedPosition === undefined) return { kind: 'askLineage' };
    verdict = journalLineageVerdict(lineage, storedPosition, job.position);
  }
  if (verdict.kind === 'skip') return { kind: 'skip', skip: { kind: 'stale', why: verdict.why, stored: storedPosition } };
  const twins = job.twins === undefined ? restampedTwins(stored, job.position) : twinsOf(job.twins.report, propertyOrderOf(device), job.position);
  const state = job.state?.report;
  const status: JsonObject = {
    twins,
    ...(state === undefined ? {} : { state: state.state }),
    ...(state?.lastOnlineTime === undefined ? {} : { lastOnlineTime: state.lastOnlineTime }),
  };
  return { kind: 'write', status, resourceVersion: stringAt(objectAt(device, 'metadata'), 'resourceVersion') };
}

// The twin decider: which twin events a command produces in a given state, or why it is refused,
// by KubeEdge's twin rules (kubeedge-reference.md, appendix rules 39–50).
import type { SnapshotFrom } from 'xstate';
import { assertNever, err, invariant, ok, type Decision, type Result } from '../../kernel/index.js';
import { deviceStates, type DeviceRef, type DeviceState, type ExpectedTwin, type ReportedTwin, type StoredTwin, type TwinEvent, type TwinVersion } from './twin.events.js';
import { deltaOfTwins, isDeleted, liveTwinAt, twinAt, type MqttTwin, type twinMachine } from './twin.machine.js';

/** Value types a property may have; `""` means `string`, and `deleted` is only ever stored. */
export const twinValueTypes = ['string', 'int', 'integer', 'float', 'double', 'boolean', 'bytes'] as const;
/** KubeEdge's limits on property names and values. */
export const twinKeyPattern = /^[a-zA-Z0-9_.,:/@#-]{1,128}$/;
export const twinValueLengthMax = 512;

/** A property of the Device as the cloud declares it; no desired value (null or "") means no expectation. */
export type DeviceProperty = { readonly name: string; readonly type?: string; readonly desired: string | null };

/**
 * A property in a cloud sync (KubeEdge's `cloud_updated`). `expected_version.cloud` is the Device's
 * `metadata.generation`, not its resourceVersion; a sync without a version is refused.
 */
export type CloudTwinMessage = { readonly expected: { readonly value: string } | null; readonly metadata?: { readonly type?: string }; readonly expected_version?: TwinVersion };

/** A property in an MQTT `…/twin/update` from a mapper or app; null deletes it. */
export type EdgeTwinMessage = {
  readonly actual?: { readonly value: string };
  /** Present only to be refused: expected values are owned by the cloud. */
  readonly expected?: { readonly value: string } | null;
  readonly optional?: boolean;
  readonly metadata?: { readonly type?: string };
};

/**
 * What can be asked of a device twin. `at` (ms since the epoch) comes from the host's clock and
 * `event_id` from the MQTT message, so deciding is pure.
 */
export type TwinCommand =
  | { readonly type: 'AddDevice'; readonly data: { readonly device: DeviceRef; readonly generation: number; readonly properties: readonly DeviceProperty[]; readonly at: number } }
  /**
   * `rebase`: the cloud's versions start over (an API server restored from a backup gives a Device a
   * lower generation than the twin has seen), so the cloud counter is not compared.
   */
  | { readonly type: 'SyncFromCloud'; readonly data: { readonly twin: { readonly [key: string]: CloudTwinMessage | null }; readonly at: number; readonly rebase?: boolean } }
  | { readonly type: 'UpdateTwinFromEdge'; readonly data: { readonly event_id: string; readonly twin: { readonly [key: string]: EdgeTwinMessage | null }; readonly at: number } }
  | { readonly type: 'ReportDeviceState'; readonly data: { readonly state: string; readonly at: number } }
  | { readonly type: 'RemoveDevice'; readonly data: { readonly at: number } };

/**
 * Why a command was refused. `code` and `reason` are what `…/twin/update/result` carries back to
 * the sender; an unknown device state is dropped without a reply (rule 49).
 */
export type TwinRejection =
  | { readonly kind: 'DeviceNotFound'; readonly code: 404; readonly reason: string }
  | { readonly kind: 'BadRequest'; readonly code: 400; readonly reason: string }
  | { readonly kind: 'VersionRequired'; readonly key: string }
  | { readonly kind: 'UnknownDeviceState'; readonly state: string }
  | { readonly kind: 'DeviceAlreadyAdded' }
  | { readonly kind: 'InvalidTime'; readonly at: number };

type TwinData = {
  readonly device: DeviceRef;
  readonly generation: number;
  readonly twin: { readonly [key: string]: StoredTwin };
  readonly state: DeviceState;
  readonly last_online: string;
};

/** The twin as the decider sees it: a union on `status` (STYLE R4). */
export type TwinState =
  | { readonly status: 'absent' }
  | ({ readonly status: 'synced' | 'drifted' } & TwinData)
  | { readonly status: 'removed'; readonly device: DeviceRef; readonly removedAt: number };

type PresentTwin = Extract<TwinState, TwinData>;

/** Projects the machine snapshot: its state value is the status, its context the data. */
export function twinStateOf(snapshot: SnapshotFrom<typeof twinMachine>): TwinState {
  const status = snapshot.value;
  const c = snapshot.context;
  switch (status) {
    case 'absent':
      return { status };
    case 'removed':
      invariant(c.device !== null && c.removedAt !== null, 'a removed twin was added once');
      return { status, device: c.device, removedAt: c.removedAt };
    case 'synced':
    case 'drifted':
      invariant(c.device !== null, 'a present twin has its device');
      return { status, device: c.device, generation: c.generation, twin: c.twin, state: c.state, last_online: c.last_online };
    default:
      return assertNever(status);
  }
}

/**
 * The unmet expectations: every live property with a non-empty expected value that differs from
 * its actual value, mapped to that expected value (what `…/twin/update/delta` carries as `delta`).
 */
export function deltaOf(state: TwinState): { readonly [key: string]: string } {
  return state.status === 'synced' || state.status === 'drifted' ? deltaOfTwins(state.twin) : {};
}

/** The twin as `…/twin/get/result` shows it: deleted properties omitted, versions stripped. */
export function twinForMqtt(state: TwinState): { readonly [key: string]: MqttTwin } {
  if (state.status !== 'synced' && state.status !== 'drifted') return {};
  return Object.fromEntries(
    Object.entries(state.twin).flatMap(([k, t]) => (isDeleted(t) ? [] : [[k, { expected: t.expected, actual: t.actual, optional: t.optional, metadata: t.metadata }]])),
  );
}

type TwinDecision = Decision<TwinEvent, TwinRejection>;
const badRequest = (reason: string): { ok: false; error: TwinRejection } => err({ kind: 'BadRequest', code: 400, reason });
const deviceNotFound = (state: TwinState): TwinDecision =>
  err({ kind: 'DeviceNotFound', code: 404, reason: state.status === 'absent' ? 'update rejected due to the device is not existed' : `device ${state.device.namespace}/${state.device.name} was removed` });
const isPresent = (state: TwinState): state is PresentTwin => state.status === 'synced' || state.status === 'drifted';

/** Decides a twin command. Pure: the same command in the same state always decides the same. */
export function decideTwin(command: TwinCommand, state: TwinState): TwinDecision {
  if (!Number.isSafeInteger(command.data.at) || command.data.at < 0) return err({ kind: 'InvalidTime', at: command.data.at });
  switch (command.type) {
    case 'AddDevice':
      return isPresent(state) ? err({ kind: 'DeviceAlreadyAdded' }) : addDevice(command.data);
    case 'SyncFromCloud':
      return isPresent(state) ? syncFromCloud(command.data, state) : deviceNotFound(state);
    case 'UpdateTwinFromEdge':
      return isPresent(state) ? updateFromEdge(command.data, state) : deviceNotFound(state);
    case 'ReportDeviceState':
      return reportState(command.data, state);
    case 'RemoveDevice':
      if (state.status === 'removed') return ok([]);
      return isPresent(state) ? ok([{ type: 'DeviceRemoved.v1', data: { at: command.data.at } }]) : deviceNotFound(state);
    default:
      return assertNever(command);
  }
}

/** A device joins this node (or rejoins after removal) with its declared properties. */
function addDevice(data: Extract<TwinCommand, { type: 'AddDevice' }>['data']): TwinDecision {
  const { device, generation, at } = data;
  if (device.namespace === '' || device.name === '' || device.uid === '') return badRequest('device namespace, name and uid are required');
  if (!Number.isSafeInteger(generation) || generation < 0) return badRequest('generation must be a non-negative integer');
  const twin: [string, StoredTwin][] = [];
  for (const p of data.properties) {
    if (!isValidKey(p.name)) return badRequest(`the twin key ${JSON.stringify(p.name)} is not valid`);
    if (twin.some(([k]) => k === p.name)) return badRequest(`property ${p.name} is declared twice`);
    const type = typeOf(p.type);
    const desired = p.desired === null || p.desired === '' ? null : p.desired;
    const problem = typeProblem(type) ?? (desired === null ? undefined : valueProblem(type, desired));
    if (problem !== undefined) return badRequest(problem);
    const expected = desired === null ? null : { value: desired, metadata: { timestamp: at } };
    // Properties the Device declares are not optional: an MQTT client cannot delete them.
    twin.push([p.name, { expected, actual: null, optional: false, metadata: { type }, expected_version: { cloud: generation, edge: 0 }, actual_version: null }]);
  }
  return ok([{ type: 'DeviceAdded.v1', data: { device, generation, twin: Object.fromEntries(twin), at } }]);
}

/**
 * Cloud values, under rule 45: refused if the stored cloud counter is newer, or the stored edge
 * counter is; a refusal is recorded so the edge pushes its own value back. Values the edge already
 * has are skipped, since the cloud's down stream may send the same revision again.
 */
function syncFromCloud(data: Extract<TwinCommand, { type: 'SyncFromCloud' }>['data'], state: PresentTwin): TwinDecision {
  const accepted: [string, ExpectedTwin | null][] = [];
  const conflicts: { key: string; reason: string }[] = [];
  for (const [key, message] of Object.entries(data.twin)) {
    if (!isValidKey(key)) return badRequest(`the twin key ${JSON.stringify(key)} is not valid`);
    const before = liveTwinAt(state.twin, key);
    if (message === null) {
      if (before !== undefined) accepted.push([key, null]);
      continue;
    }
    const version = message.expected_version;
    if (version === undefined) return err({ kind: 'VersionRequired', key });
    // A rebase compares no cloud counter; the edge counter still counts (rule 45).
    const stored = before?.expected_version ?? null;
    const conflict = versionConflict(data.rebase === true && stored !== null ? { cloud: 0, edge: stored.edge } : stored, version);
    if (conflict !== undefined) {
      conflicts.push({ key, reason: conflict });
      continue;
    }
    const type = typeOf(message.metadata?.type ?? before?.metadata.type);
    const problem = typeProblem(type) ?? (message.expected === null ? undefined : valueProblem(type, message.expected.value));
    if (problem !== undefined) return badRequest(`${key}: ${problem}`);
    const next: ExpectedTwin = { expected: message.expected === null ? null : { value: message.expected.value, metadata: { timestamp: data.at } }, optional: before?.optional ?? false, metadata: { type }, expected_version: version };
    if (before === undefined || !sameCloudSide(before, next)) accepted.push([key, next]);
  }
  const events: TwinEvent[] = [];
  if (accepted.length > 0) events.push({ type: 'TwinExpectedSynced.v1', data: { twin: Object.fromEntries(accepted), at: data.at } });
  if (conflicts.length > 0) events.push({ type: 'TwinCloudSyncConflicted.v1', data: { conflicts, at: data.at } });
  return ok(events);
}

function versionConflict(stored: TwinVersion | null, incoming: TwinVersion): string | undefined {
  if (stored === null) return undefined;
  if (stored.cloud > incoming.cloud) return 'version not allowed';
  if (stored.edge > incoming.edge) return 'not allowed to sync due to version conflict';
  return undefined;
}

const sameCloudSide = (before: StoredTwin, next: ExpectedTwin): boolean =>
  before.expected?.value === next.expected?.value &&
  before.metadata.type === next.metadata.type &&
  before.expected_version?.cloud === next.expected_version.cloud &&
  before.expected_version.edge === next.expected_version.edge;

/** An MQTT update: all of it is accepted or none (rule 41); every value is a write (rule 44). */
function updateFromEdge(data: Extract<TwinCommand, { type: 'UpdateTwinFromEdge' }>['data'], state: PresentTwin): TwinDecision {
  const changes: [string, ReportedTwin | null][] = [];
  for (const [key, message] of Object.entries(data.twin)) {
    const change = edgeChange(key, message, state.twin, data.at);
    if (!change.ok) return change;
    if (change.value !== undefined) changes.push([key, change.value]);
  }
  if (changes.length === 0) return ok([]);
  return ok([{ type: 'TwinActualReported.v2', data: { event_id: data.event_id, twin: Object.fromEntries(changes), at: data.at } }]);
}

/** What one property of an MQTT update changes: the new device-owned side, null to delete, undefined for nothing. */
function edgeChange(key: string, message: EdgeTwinMessage | null, twins: PresentTwin['twin'], at: number): Result<ReportedTwin | null | undefined, TwinRejection> {
  if (!isValidKey(key)) return badRequest(`the twin key ${JSON.stringify(key)} is not valid`);
  const before = liveTwinAt(twins, key);
  if (message === null) {
    if (before === undefined) return ok(undefined);
    return before.optional ? ok(null) : badRequest(`twin ${key} is not optional and cannot be deleted`);
  }
  if (message.expected !== undefined) return badRequest(`twin ${key}: expected is owned by the cloud, an update may only set actual`);
  // An existing property is validated against its stored type, not the message's (rule 41).
  const type = before?.metadata.type ?? typeOf(message.metadata?.type);
  const problem = typeProblem(type) ?? (message.actual === undefined ? undefined : valueProblem(type, message.actual.value));
  if (problem !== undefined) return badRequest(problem);
  // Optional only flips from true to false (rule 47); a new property is optional by default (rule 40).
  const optional = before === undefined ? (message.optional ?? true) : before.optional && message.optional !== false;
  if (before !== undefined && message.actual === undefined && optional === before.optional) return ok(undefined);
  // Counters continue across a deletion, so the cloud never sees an edge counter go back.
  const counted = twinAt(twins, key)?.actual_version ?? null;
  if (message.actual === undefined) return ok({ actual: before?.actual ?? null, optional, metadata: { type }, actual_version: before?.actual_version ?? null });
  const actual_version = { cloud: counted?.cloud ?? 0, edge: (counted?.edge ?? 0) + 1 };
  return ok({ actual: { value: message.actual.value, metadata: { timestamp: at } }, optional, metadata: { type }, actual_version });
}

/**
 * Device state (rule 49), case-insensitive. Only a change is recorded: mappers report state
 * periodically and, like lease renewals, repeats are not journaled. So `last_online` is when the
 * device last became online or ok, rather than its latest report.
 */
function reportState(data: { readonly state: string; readonly at: number }, state: TwinState): TwinDecision {
  const normalized = data.state.toLowerCase();
  const known = deviceStates.find((s) => s === normalized);
  if (known === undefined) return err({ kind: 'UnknownDeviceState', state: data.state });
  if (!isPresent(state)) return deviceNotFound(state);
  if (known === state.state) return ok([]);
  const last_online = known === 'online' || known === 'ok' ? new Date(data.at).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
  return ok([{ type: 'DeviceStateChanged.v1', data: { state: known, last_online, at: data.at } }]);
}

// `__proto__` matches KubeEdge's key pattern but would be a trap as an object key in JavaScript.
const isValidKey = (key: string): boolean => twinKeyPattern.test(key) && key !== '__proto__';
const typeOf = (type: string | undefined): string => (type === undefined || type === '' ? 'string' : type);
const typeProblem = (type: string): string | undefined => (twinValueTypes.some((t) => t === type) ? undefined : 'the value type is not allowed');

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const decimalFloat = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `value` is not a `type`, in KubeEdge's words; undefined when it is. */
function valueProblem(type: string, value: string): string | undefined {
  if (value.length > twinValueLengthMax) return `the value is longer than ${twinValueLengthMax} characters`;
  switch (type) {
    case 'int':
    case 'integer':
      return /^[+-]?\d+$/.test(value) && BigInt(value) >= int64Min && BigInt(value) <= int64Max ? undefined : 'the value is not int or integer';
    case 'float':
    case 'double':
      return decimalFloat.test(value) && Number.isFinite(Number(value)) ? undefined : `the value is not ${type}`;
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : 'the value is not boolean';
    case 'bytes':
      return base64.test(value) ? undefined : 'the value is not bytes (base64)';
    default:
      return undefined;
  }
}

// Device twin events: the facts of a twin's life on an edge node, and how recorded ones are read
// back, upcasting older versions.
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { EventDecodeError } from '../host/actor-kind.js';

/** Which device: a re-created Device has a new uid, hence a new stream. */
export type DeviceRef = { readonly namespace: string; readonly name: string; readonly uid: string };

/** KubeEdge's `{cloud, edge}` counters of one side (expected or actual) of one twin property. */
export type TwinVersion = { readonly cloud: number; readonly edge: number };

/** A value with KubeEdge's metadata: `timestamp` in ms since the epoch, when the edge stored it. */
export type TwinValue = { readonly value: string; readonly metadata: { readonly timestamp: number } };

/**
 * One twin property as KubeEdge's Twin JSON has it: `expected` (desired, owned by the cloud) and
 * `actual` (reported, owned by the device). A deleted property keeps its slot with type `deleted`
 * and null values, so a stale cloud sync cannot resurrect it silently.
 */
export type StoredTwin = {
  readonly expected: TwinValue | null;
  readonly actual: TwinValue | null;
  readonly optional: boolean;
  readonly metadata: { readonly type: string };
  readonly expected_version: TwinVersion | null;
  readonly actual_version: TwinVersion | null;
};

/** The cloud-owned side of a property, as a cloud sync sets it. */
export type ExpectedTwin = {
  readonly expected: TwinValue | null;
  readonly optional: boolean;
  readonly metadata: { readonly type: string };
  readonly expected_version: TwinVersion;
};

/** The device-owned side of a property, as an edge (MQTT) update sets it. */
export type ReportedTwin = {
  readonly actual: TwinValue | null;
  readonly optional: boolean;
  readonly metadata: { readonly type: string };
  readonly actual_version: TwinVersion | null;
};

export const deviceStates = ['online', 'offline', 'ok', 'unknown', 'unhealthy'] as const;
export type DeviceState = (typeof deviceStates)[number];

/** Everything that can happen to a device twin. `at` is ms since the epoch, as KubeEdge stamps twins. */
export type TwinEvent =
  | { readonly type: 'DeviceAdded.v1'; readonly data: { readonly device: DeviceRef; readonly generation: number; readonly twin: { readonly [key: string]: StoredTwin }; readonly at: number } }
  /** Accepted cloud values; null deletes the property. */
  | { readonly type: 'TwinExpectedSynced.v1'; readonly data: { readonly twin: { readonly [key: string]: ExpectedTwin | null }; readonly at: number } }
  /** Cloud values refused by the version rules: the edge pushes its own back (the edge wins). */
  | { readonly type: 'TwinCloudSyncConflicted.v1'; readonly data: { readonly conflicts: readonly { readonly key: string; readonly reason: string }[]; readonly at: number } }
  /** An accepted edge update (`event_id` from the MQTT message); null deletes the property. */
  | { readonly type: 'TwinActualReported.v2'; readonly data: { readonly event_id: string; readonly twin: { readonly [key: string]: ReportedTwin | null }; readonly at: number } }
  | { readonly type: 'DeviceStateChanged.v1'; readonly data: { readonly state: DeviceState; readonly last_online: string; readonly at: number } }
  | { readonly type: 'DeviceRemoved.v1'; readonly data: { readonly at: number } };

export type TwinEventType = TwinEvent['type'];

// A check returns why a value is malformed, or undefined when it is fine.
type Check = (value: unknown, path: string) => string | undefined;

const isString: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string`);
const isBoolean: Check = (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be a boolean`);
const isInteger: Check = (v, p) => (typeof v === 'number' && Number.isSafeInteger(v) ? undefined : `${p} must be an integer`);
const nullable =
  (check: Check): Check =>
  (v, p) =>
    v === null ? undefined : check(v, p);
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `${p} must be one of ${allowed.join(', ')}`;
const arrayOf =
  (item: Check): Check =>
  (v, p) =>
    Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)).find((e) => e !== undefined) : `${p} must be an array`;
const mapOf =
  (item: Check): Check =>
  (v, p) =>
    isJsonObject(v) ? Object.entries(v).map(([k, x]) => item(x, `${p}.${k}`)).find((e) => e !== undefined) : `${p} must be an object`;
const shape =
  (fields: Readonly<Record<string, Check>>): Check =>
  (v, p) =>
    isJsonObject(v) ? Object.entries(fields).map(([k, check]) => check(v[k], `${p}.${k}`)).find((e) => e !== undefined) : `${p} must be an object`;

const version = shape({ cloud: isInteger, edge: isInteger });
const twinValue = shape({ value: isString, metadata: shape({ timestamp: isInteger }) });
const typeMetadata = shape({ type: isString });
const storedTwin = shape({ expected: nullable(twinValue), actual: nullable(twinValue), optional: isBoolean, metadata: typeMetadata, expected_version: nullable(version), actual_version: nullable(version) });
const expectedTwin = shape({ expected: nullable(twinValue), optional: isBoolean, metadata: typeMetadata, expected_version: version });
const reportedTwin = shape({ actual: nullable(twinValue), optional: isBoolean, metadata: typeMetadata, actual_version: nullable(version) });

const dataChecks: Readonly<Record<TwinEventType, Check>> = {
  'DeviceAdded.v1': shape({ device: shape({ namespace: isString, name: isString, uid: isString }), generation: isInteger, twin: mapOf(storedTwin), at: isInteger }),
  'TwinExpectedSynced.v1': shape({ twin: mapOf(nullable(expectedTwin)), at: isInteger }),
  'TwinCloudSyncConflicted.v1': shape({ conflicts: arrayOf(shape({ key: isString, reason: isString })), at: isInteger }),
  'TwinActualReported.v2': shape({ event_id: isString, twin: mapOf(nullable(reportedTwin)), at: isInteger }),
  'DeviceStateChanged.v1': shape({ state: oneOf(deviceStates), last_online: isString, at: isInteger }),
  'DeviceRemoved.v1': shape({ at: isInteger }),
};

/**
 * `TwinActualReported.v1` recorded actual values without metadata: `{actual: {value}}`. v2 keeps
 * KubeEdge's `actual.metadata.timestamp`. The edge stamps an actual value with the time it stores
 * it (as KubeEdge does), which is the event's own `at`, so the upcast is exact, not a guess.
 */
const reportedTwinV1 = shape({ actual: nullable(shape({ value: isString })), optional: isBoolean, metadata: typeMetadata, actual_version: nullable(version) });
const actualReportedV1 = shape({ event_id: isString, twin: mapOf(nullable(reportedTwinV1)), at: isInteger });

function upcastActualReportedV1(data: JsonValue): Result<TwinEvent, EventDecodeError> {
  const type = 'TwinActualReported.v1';
  const problem = actualReportedV1(data, 'data');
  if (problem !== undefined) return err({ kind: 'MalformedEventData', type, detail: problem });
  const v1 = data as { event_id: string; at: number; twin: { [key: string]: (Omit<ReportedTwin, 'actual'> & { actual: { value: string } | null }) | null } };
  const stamp = (t: (typeof v1.twin)[string]): ReportedTwin | null => (t === null ? null : { ...t, actual: t.actual === null ? null : { value: t.actual.value, metadata: { timestamp: v1.at } } });
  const twin = Object.fromEntries(Object.entries(v1.twin).map(([key, t]) => [key, stamp(t)]));
  return ok({ type: 'TwinActualReported.v2', data: { event_id: v1.event_id, twin, at: v1.at } });
}

const isTwinEventType = (type: string): type is TwinEventType => Object.hasOwn(dataChecks, type);

/** Reads a recorded twin event back, upcasting older versions to the current one. */
export function decodeTwinEvent(type: string, data: JsonValue): Result<TwinEvent, EventDecodeError> {
  if (type === 'TwinActualReported.v1') return upcastActualReportedV1(data);
  if (!isTwinEventType(type)) return err({ kind: 'UnknownEventType', type, detail: 'not a twin event' });
  const problem = dataChecks[type](data, 'data');
  if (problem !== undefined) return err({ kind: 'MalformedEventData', type, detail: problem });
  // The checks above are exactly the event's type, so this narrowing is sound.
  return ok({ type, data } as TwinEvent);
}

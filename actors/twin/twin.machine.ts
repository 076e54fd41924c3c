// The twin machine: a device twin as a pure XState machine, synced while every expected value is
// met and drifted while some is not, with effects (MQTT publishes, cloud reports) as named actions.
import { assign, enqueueActions, setup } from 'xstate';
import type { DeviceRef, DeviceState, ExpectedTwin, ReportedTwin, StoredTwin, TwinEvent } from './twin.events.js';

type TwinMap = { readonly [key: string]: StoredTwin };

export type TwinContext = {
  readonly device: DeviceRef | null;
  /** The Device's `metadata.generation` last synced: the twin's cloud version. */
  readonly generation: number;
  readonly twin: TwinMap;
  readonly state: DeviceState;
  /** RFC 3339 (UTC, seconds) when the device last became online/ok; empty otherwise. */
  readonly last_online: string;
  readonly removedAt: number | null;
};

export const emptyTwinContext: TwinContext = { device: null, generation: 0, twin: {}, state: 'unknown', last_online: '', removedAt: null };

export const twinStatuses = ['absent', 'synced', 'drifted', 'removed'] as const;
export type TwinStatus = (typeof twinStatuses)[number];

/** The property `key`, if the twin has one (own keys only: `__proto__` is just a name here). */
export const twinAt = (twins: TwinMap, key: string): StoredTwin | undefined => (Object.hasOwn(twins, key) ? twins[key] : undefined);
export const isDeleted = (t: StoredTwin): boolean => t.metadata.type === 'deleted';
/** A live (not deleted) property `key`, if any. */
export const liveTwinAt = (twins: TwinMap, key: string): StoredTwin | undefined => {
  const t = twinAt(twins, key);
  return t === undefined || isDeleted(t) ? undefined : t;
};

/** KubeEdge marks a deleted property with type `deleted` and null values, keeping its versions. */
const deletedTwin = (before: StoredTwin | undefined): StoredTwin => ({
  expected: null,
  actual: null,
  optional: before?.optional ?? true,
  metadata: { type: 'deleted' },
  expected_version: before?.expected_version ?? null,
  actual_version: before?.actual_version ?? null,
});

const blankTwin = (optional: boolean, type: string): StoredTwin => ({ expected: null, actual: null, optional, metadata: { type }, expected_version: null, actual_version: null });

/** Properties with a non-empty expected value that the actual value does not match, and that value. */
export function deltaOfTwins(twins: TwinMap): { readonly [key: string]: string } {
  return Object.fromEntries(
    Object.entries(twins).flatMap(([key, t]) => (!isDeleted(t) && t.expected !== null && t.expected.value !== '' && t.expected.value !== t.actual?.value ? [[key, t.expected.value]] : [])),
  );
}

function withExpected(before: StoredTwin | undefined, e: ExpectedTwin): StoredTwin {
  const base = before === undefined || isDeleted(before) ? blankTwin(e.optional, e.metadata.type) : before;
  return { ...base, expected: e.expected, optional: e.optional, metadata: e.metadata, expected_version: e.expected_version };
}

function withActual(before: StoredTwin | undefined, r: ReportedTwin): StoredTwin {
  const base = before === undefined || isDeleted(before) ? blankTwin(r.optional, r.metadata.type) : before;
  return { ...base, actual: r.actual, optional: r.optional, metadata: r.metadata, actual_version: r.actual_version };
}

function merged<T>(twins: TwinMap, changes: { readonly [key: string]: T | null }, apply: (before: StoredTwin | undefined, change: T) => StoredTwin): TwinMap {
  const updates = Object.entries(changes).map(([key, change]) => [key, change === null ? deletedTwin(twinAt(twins, key)) : apply(twinAt(twins, key), change)] as const);
  return { ...twins, ...Object.fromEntries(updates) };
}

/** Applies one event to the twin. Total: an event that does not apply changes nothing. */
export function evolveTwin(context: TwinContext, event: TwinEvent): TwinContext {
  if (event.type === 'DeviceAdded.v1') {
    // A device that left this node and came back (same uid, same stream) starts afresh.
    const absent = context.device === null || context.removedAt !== null;
    return absent ? { ...emptyTwinContext, device: event.data.device, generation: event.data.generation, twin: event.data.twin } : context;
  }
  if (context.device === null || context.removedAt !== null) return context;
  switch (event.type) {
    case 'TwinExpectedSynced.v1': {
      const versions = Object.values(event.data.twin).flatMap((e) => (e === null ? [] : [e.expected_version.cloud]));
      return { ...context, twin: merged(context.twin, event.data.twin, withExpected), generation: Math.max(context.generation, ...versions) };
    }
    case 'TwinCloudSyncConflicted.v1':
      return context;
    case 'TwinActualReported.v2':
      return { ...context, twin: merged(context.twin, event.data.twin, withActual) };
    case 'DeviceStateChanged.v1':
      return { ...context, state: event.data.state, last_online: event.data.last_online };
    case 'DeviceRemoved.v1':
      return { ...context, removedAt: event.data.at };
  }
}

/** The status the twin's data implies; the machine's state always equals it. */
export function twinStatusOf(context: TwinContext): TwinStatus {
  if (context.device === null) return 'absent';
  if (context.removedAt !== null) return 'removed';
  return Object.keys(deltaOfTwins(context.twin)).length > 0 ? 'drifted' : 'synced';
}

/** A property as MQTT messages show it: versions are kept for the cloud only. */
export type MqttTwin = { readonly expected: StoredTwin['expected']; readonly actual: StoredTwin['actual']; readonly optional: boolean; readonly metadata: { readonly type: string } };
const forMqtt = (t: StoredTwin): MqttTwin => ({ expected: t.expected, actual: t.actual, optional: t.optional, metadata: t.metadata });
const liveOrNull = (twins: TwinMap, key: string): StoredTwin | null => liveTwinAt(twins, key) ?? null;
const mqttOrNull = (t: StoredTwin | undefined): MqttTwin | null => (t === undefined ? null : forMqtt(t));

export type PublishResultParams = { readonly device: DeviceRef; readonly event_id: string; readonly twin: { readonly [key: string]: MqttTwin | null } };
export type PublishDocumentParams = { readonly device: DeviceRef; readonly twin: { readonly [key: string]: { readonly last: StoredTwin | null; readonly current: StoredTwin | null } } };
export type PublishDeltaParams = { readonly device: DeviceRef; readonly twin: { readonly [key: string]: MqttTwin }; readonly delta: { readonly [key: string]: string } };
export type ReportToCloudParams = { readonly device: DeviceRef; readonly twin: { readonly [key: string]: StoredTwin | null } };
export type ReportStateToCloudParams = { readonly device: DeviceRef; readonly state: DeviceState; readonly last_online: string };

type TwinEffect =
  | { readonly type: 'publishResult'; readonly params: PublishResultParams }
  | { readonly type: 'publishDocument'; readonly params: PublishDocumentParams }
  | { readonly type: 'publishDelta'; readonly params: PublishDeltaParams }
  | { readonly type: 'reportToCloud'; readonly params: ReportToCloudParams }
  | { readonly type: 'reportStateToCloud'; readonly params: ReportStateToCloudParams };

/** `…/twin/update/delta` while some expected value is unmet: every property with an expected value, and the unmet ones. */
function deltaEffects(device: DeviceRef, twins: TwinMap): TwinEffect[] {
  const delta = deltaOfTwins(twins);
  if (Object.keys(delta).length === 0) return [];
  const withExpectation = Object.entries(twins).filter(([, t]) => !isDeleted(t) && t.expected !== null && t.expected.value !== '');
  return [{ type: 'publishDelta', params: { device, twin: Object.fromEntries(withExpectation.map(([k, t]) => [k, forMqtt(t)])), delta } }];
}

function documentEffect(device: DeviceRef, before: TwinMap, after: TwinMap, keys: readonly string[]): TwinEffect {
  return { type: 'publishDocument', params: { device, twin: Object.fromEntries(keys.map((k) => [k, { last: liveOrNull(before, k), current: liveOrNull(after, k) }])) } };
}

/** The effects of `event` happening to a twin whose data was `context` just before it. */
function effectsOf(context: TwinContext, event: TwinEvent): TwinEffect[] {
  const after = evolveTwin(context, event);
  const device = after.device;
  if (device === null || after.removedAt !== null) return [];
  switch (event.type) {
    case 'DeviceAdded.v1':
      // The mapper learns the desired values of a new device from its first delta.
      return after !== context ? deltaEffects(device, after.twin) : [];
    case 'TwinExpectedSynced.v1':
      return [documentEffect(device, context.twin, after.twin, Object.keys(event.data.twin)), ...deltaEffects(device, after.twin)];
    case 'TwinCloudSyncConflicted.v1':
      // A refused cloud sync changes nothing, yet the edge pushes its own values back: the edge wins.
      return [{ type: 'reportToCloud', params: { device, twin: Object.fromEntries(event.data.conflicts.map(({ key }) => [key, liveOrNull(context.twin, key)])) } }];
    case 'TwinActualReported.v2': {
      const keys = Object.keys(event.data.twin);
      const result = Object.fromEntries(keys.map((k) => [k, mqttOrNull(liveTwinAt(after.twin, k))]));
      return [
        { type: 'publishResult', params: { device, event_id: event.data.event_id, twin: result } },
        documentEffect(device, context.twin, after.twin, keys),
        ...deltaEffects(device, after.twin),
        { type: 'reportToCloud', params: { device, twin: Object.fromEntries(keys.map((k) => [k, liveOrNull(after.twin, k)])) } },
      ];
    }
    case 'DeviceStateChanged.v1':
      return [{ type: 'reportStateToCloud', params: { device, state: after.state, last_online: after.last_online } }];
    case 'DeviceRemoved.v1':
      return [];
  }
}

/** In every status, move to the status the data implies once an event has been applied. */
const routed = (self: TwinStatus) => ({
  always: twinStatuses.filter((s) => s !== self).map((s) => ({ target: s, guard: { type: 'statusIs' as const, params: { status: s } } })),
});

const twinSetup = setup({
  types: {} as { context: TwinContext; events: TwinEvent },
  actions: {
    /** `…/twin/update/result` to the mapper that sent the update: the changed properties, no versions. */
    publishResult: (_, _params: PublishResultParams) => undefined,
    /** `…/twin/update/document`: last and current of each changed property. */
    publishDocument: (_, _params: PublishDocumentParams) => undefined,
    publishDelta: (_, _params: PublishDeltaParams) => undefined,
    /** `twin/edge_updated` up to the cloud: reported from actual, observedDesired from expected. */
    reportToCloud: (_, _params: ReportToCloudParams) => undefined,
    reportStateToCloud: (_, _params: ReportStateToCloudParams) => undefined,
    evolve: assign(({ context, event }) => evolveTwin(context, event)),
  },
  guards: {
    statusIs: ({ context }, params: { status: TwinStatus }) => twinStatusOf(context) === params.status,
  },
});

// Effects are worked out on the state the event happened in, before the event is applied.
const enqueueEffects = twinSetup.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    for (const effect of effectsOf(context, event)) enqueue(effect);
  }),
);

/**
 * Every twin event updates the properties (`evolveTwin`); the machine then moves to the status they
 * imply (`twinStatusOf`), so replaying the events always lands in the same state.
 */
export const twinMachine = twinSetup.createMachine({
  id: 'twin',
  context: emptyTwinContext,
  initial: 'absent',
  on: {
    'DeviceAdded.v1': { actions: [enqueueEffects, 'evolve'] },
    'TwinExpectedSynced.v1': { actions: [enqueueEffects, 'evolve'] },
    'TwinCloudSyncConflicted.v1': { actions: [enqueueEffects, 'evolve'] },
    'TwinActualReported.v2': { actions: [enqueueEffects, 'evolve'] },
    'DeviceStateChanged.v1': { actions: [enqueueEffects, 'evolve'] },
    'DeviceRemoved.v1': { actions: [enqueueEffects, 'evolve'] },
  },
  states: {
    absent: routed('absent'),
    synced: routed('synced'),
    drifted: routed('drifted'),
    removed: routed('removed'),
  },
});

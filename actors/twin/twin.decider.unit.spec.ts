// The twin decider, given/when/then (STYLE R16): given the twin's past events, when a command
// arrives, then these events are recorded or this rejection (an MQTT result's code and reason) is returned.
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../host/decider-spec.testing.js';
import { deltaOf, twinForMqtt, type EdgeTwinMessage, type TwinCommand } from './twin.decider.js';
import type { StoredTwin, TwinEvent } from './twin.events.js';
import { twinKind, twinStream } from './twin.kind.js';

const given = deciderSpec(twinKind);
const device = { namespace: 'default', name: 'thermostat', uid: 'd1' };
const t0 = 1_790_000_000_000;

const declared: StoredTwin = {
  expected: { value: '25', metadata: { timestamp: t0 } },
  actual: null,
  optional: false,
  metadata: { type: 'float' },
  expected_version: { cloud: 3, edge: 0 },
  actual_version: null,
};
const added: TwinEvent = {
  type: 'DeviceAdded.v1',
  data: { device, generation: 3, twin: { temperature: declared, mode: { ...declared, expected: null, metadata: { type: 'string' } } }, at: t0 },
};
const update = (twin: { [key: string]: EdgeTwinMessage | null }, at = t0 + 100, event_id = 'e1'): TwinCommand => ({ type: 'UpdateTwinFromEdge', data: { event_id, twin, at } });
const reported = (twin: Extract<TwinEvent, { type: 'TwinActualReported.v2' }>['data']['twin'], at = t0 + 100, event_id = 'e1'): TwinEvent => ({ type: 'TwinActualReported.v2', data: { event_id, twin, at } });
const actual = (value: string, at: number, edge: number, type = 'float', optional = false) => ({ actual: { value, metadata: { timestamp: at } }, optional, metadata: { type }, actual_version: { cloud: 0, edge } });
const sync = (twin: Extract<TwinCommand, { type: 'SyncFromCloud' }>['data']['twin'], at = t0 + 200): TwinCommand => ({ type: 'SyncFromCloud', data: { twin, at } });
const state = (value: string, at = t0 + 300): TwinCommand => ({ type: 'ReportDeviceState', data: { state: value, at } });

describe('the stream id', () => {
  it('is twin-<namespace>.<name>.<uid>', () => expect(twinStream('default', 'thermostat', 'd1')).toBe('twin-default.thermostat.d1'));
});

describe('given no device', () => {
  it('adds it with expected values from the desired ones, versioned by the Device generation', () => {
    const command: TwinCommand = {
      type: 'AddDevice',
      data: { device, generation: 3, properties: [{ name: 'temperature', type: 'float', desired: '25' }, { name: 'mode', desired: '' }], at: t0 },
    };
    const s = given([]).when(command).then([added]);
    expect(s.status).toBe('drifted');
    expect(deltaOf(s)).toEqual({ temperature: '25' });
  });

  it('is synced when nothing is expected', () => {
    const command: TwinCommand = { type: 'AddDevice', data: { device, generation: 1, properties: [{ name: 'mode', desired: null }], at: t0 } };
    const mode: StoredTwin = { expected: null, actual: null, optional: false, metadata: { type: 'string' }, expected_version: { cloud: 1, edge: 0 }, actual_version: null };
    const s = given([]).when(command).then([{ type: 'DeviceAdded.v1', data: { device, generation: 1, twin: { mode }, at: t0 } }]);
    expect(s.status).toBe('synced');
  });

  it('refuses a property of an unknown type or a desired value of the wrong type', () => {
    given([]).when({ type: 'AddDevice', data: { device, generation: 1, properties: [{ name: 'colour', type: 'rgb', desired: null }], at: t0 } }).thenRejects({ kind: 'BadRequest', reason: 'the value type is not allowed' });
    given([]).when({ type: 'AddDevice', data: { device, generation: 1, properties: [{ name: 'count', type: 'int', desired: '1.5' }], at: t0 } }).thenRejects({ kind: 'BadRequest', reason: 'the value is not int or integer' });
  });

  it('answers an MQTT update with 404 (rule 39)', () =>
    given([]).when(update({ temperature: { actual: { value: '21' } } })).thenRejects({ kind: 'DeviceNotFound', code: 404, reason: 'update rejected due to the device is not existed' }));

  it('refuses a time that is not ms since the epoch', () => given([]).when(state('online', -1)).thenRejects({ kind: 'InvalidTime', at: -1 }));
});

describe('given a device, an MQTT update', () => {
  it('records the actual value, stamped by the edge, and bumps the edge counter (rule 45)', () => {
    const s = given([added]).when(update({ temperature: { actual: { value: '25' } } })).then([reported({ temperature: actual('25', t0 + 100, 1) })]);
    expect(s.status).toBe('synced');
    expect(deltaOf(s)).toEqual({});
  });

  it('counts every value as a write, even an unchanged one (rule 44)', () => {
    const once = [added, reported({ temperature: actual('25', t0 + 100, 1) })];
    given(once).when(update({ temperature: { actual: { value: '25' } } }, t0 + 500, 'e2')).then([reported({ temperature: actual('25', t0 + 500, 2) }, t0 + 500, 'e2')]);
  });

  it('stays drifted while the actual value differs from the expected one', () => {
    const s = given([added]).when(update({ temperature: { actual: { value: '23.5' } } })).then([reported({ temperature: actual('23.5', t0 + 100, 1) })]);
    expect(s.status).toBe('drifted');
    expect(deltaOf(s)).toEqual({ temperature: '25' });
  });

  it('refuses to set expected: the cloud owns it', () =>
    given([added]).when(update({ temperature: { expected: { value: '30' } } as EdgeTwinMessage })).thenRejects({ kind: 'BadRequest', code: 400, reason: expect.stringContaining('expected is owned by the cloud') }));

  it('refuses the whole message when one value is bad (rule 41)', () =>
    given([added]).when(update({ mode: { actual: { value: 'eco' } }, temperature: { actual: { value: 'hot' } } })).thenRejects({ kind: 'BadRequest', code: 400, reason: 'the value is not float' }));

  it('validates an existing property against its stored type, not the message’s', () =>
    given([added]).when(update({ temperature: { actual: { value: 'warm' }, metadata: { type: 'string' } } })).thenRejects({ reason: 'the value is not float' }));

  it('creates a new property, typed by the message and optional by default (rule 40)', () =>
    given([added]).when(update({ humidity: { actual: { value: '40' }, metadata: { type: 'int' } } })).then([reported({ humidity: actual('40', t0 + 100, 1, 'int', true) })]));

  it('checks value types as KubeEdge does', () => {
    given([added]).when(update({ big: { actual: { value: '9223372036854775808' }, metadata: { type: 'int' } } })).thenRejects({ reason: 'the value is not int or integer' });
    given([added]).when(update({ small: { actual: { value: '-9223372036854775808' }, metadata: { type: 'integer' } } })).then([reported({ small: actual('-9223372036854775808', t0 + 100, 1, 'integer', true) })]);
    given([added]).when(update({ on: { actual: { value: 'True' }, metadata: { type: 'boolean' } } })).thenRejects({ reason: 'the value is not boolean' });
    given([added]).when(update({ blob: { actual: { value: 'aGk=' }, metadata: { type: 'bytes' } } })).then([reported({ blob: actual('aGk=', t0 + 100, 1, 'bytes', true) })]);
    given([added]).when(update({ x: { actual: { value: '1' }, metadata: { type: 'stream' } } })).thenRejects({ reason: 'the value type is not allowed' });
    given([added]).when(update({ x: { actual: { value: 'a'.repeat(513) } } })).thenRejects({ kind: 'BadRequest' });
  });

  it('refuses a key outside KubeEdge’s pattern, and __proto__', () => {
    given([added]).when(update({ 'bad key': { actual: { value: '1' } } })).thenRejects({ kind: 'BadRequest', reason: expect.stringContaining('is not valid') });
    given([added]).when(update(JSON.parse('{"__proto__": {"actual": {"value": "1"}}}') as { [key: string]: EdgeTwinMessage })).thenRejects({ kind: 'BadRequest' });
  });

  it('lets optional only flip from true to false (rule 47)', () => {
    const withHumidity = [added, reported({ humidity: actual('40', t0 + 100, 1, 'int', true) })];
    given(withHumidity).when(update({ humidity: { optional: false } }, t0 + 500)).then([reported({ humidity: actual('40', t0 + 100, 1, 'int', false) }, t0 + 500)]);
    given([added]).when(update({ temperature: { optional: true } }, t0 + 500)).then([]);
  });
});

describe('given a device, deleting a property over MQTT (rule 46)', () => {
  const withHumidity = [added, reported({ humidity: actual('40', t0 + 100, 1, 'int', true) })];

  it('deletes an optional property: gets omit it and the delta ignores it', () => {
    const s = given(withHumidity).when(update({ humidity: null }, t0 + 500)).then([reported({ humidity: null }, t0 + 500)]);
    expect(Object.keys(twinForMqtt(s))).toEqual(['temperature', 'mode']);
  });

  it('refuses to delete a property the Device declares', () => given(withHumidity).when(update({ temperature: null })).thenRejects({ code: 400, reason: 'twin temperature is not optional and cannot be deleted' }));

  it('records nothing for deleting what is not there', () => given(withHumidity).when(update({ nothing: null })).then([]));

  it('re-adds a deleted property with the message’s type, its edge counter carrying on', () => {
    const deleted = [...withHumidity, reported({ humidity: null }, t0 + 500)];
    given(deleted).when(update({ humidity: { actual: { value: 'damp' } } }, t0 + 600)).then([reported({ humidity: actual('damp', t0 + 600, 2, 'string', true) }, t0 + 600)]);
  });
});

describe('given a device, a cloud sync (rule 45)', () => {
  it('applies a newer expected value and takes its version', () => {
    const s = given([added]).when(sync({ temperature: { expected: { value: '22' }, expected_version: { cloud: 4, edge: 0 } } })).then([
      { type: 'TwinExpectedSynced.v1', data: { twin: { temperature: { expected: { value: '22', metadata: { timestamp: t0 + 200 } }, optional: false, metadata: { type: 'float' }, expected_version: { cloud: 4, edge: 0 } } }, at: t0 + 200 } },
    ]);
    expect(s).toMatchObject({ status: 'drifted', generation: 4 });
    expect(deltaOf(s)).toEqual({ temperature: '22' });
  });

  it('does not count an empty expected value as a delta', () => {
    const s = given([added]).when(sync({ temperature: { expected: { value: '' }, metadata: { type: 'string' }, expected_version: { cloud: 4, edge: 0 } } })).then([
      { type: 'TwinExpectedSynced.v1', data: { twin: { temperature: { expected: { value: '', metadata: { timestamp: t0 + 200 } }, optional: false, metadata: { type: 'string' }, expected_version: { cloud: 4, edge: 0 } } }, at: t0 + 200 } },
    ]);
    expect(s.status).toBe('synced');
    expect(deltaOf(s)).toEqual({});
  });

  it('records a stale cloud version as a conflict and keeps the edge value', () => {
    const s = given([added]).when(sync({ temperature: { expected: { value: '22' }, expected_version: { cloud: 2, edge: 0 } } })).then([
      { type: 'TwinCloudSyncConflicted.v1', data: { conflicts: [{ key: 'temperature', reason: 'version not allowed' }], at: t0 + 200 } },
    ]);
    expect(deltaOf(s)).toEqual({ temperature: '25' });
  });

  it('takes an older cloud version when the cloud rebases (an API server restored from a backup)', () => {
    const s = given([added]).when({ type: 'SyncFromCloud', data: { twin: { temperature: { expected: { value: '22' }, expected_version: { cloud: 2, edge: 0 } } }, at: t0 + 200, rebase: true } }).then([
      { type: 'TwinExpectedSynced.v1', data: { twin: { temperature: { expected: { value: '22', metadata: { timestamp: t0 + 200 } }, optional: false, metadata: { type: 'float' }, expected_version: { cloud: 2, edge: 0 } } }, at: t0 + 200 } },
    ]);
    expect(deltaOf(s)).toEqual({ temperature: '22' });
  });

  it('refuses a sync whose edge counter is behind the stored one', () => {
    const ahead: TwinEvent = { type: 'TwinExpectedSynced.v1', data: { twin: { temperature: { ...declared, expected_version: { cloud: 3, edge: 2 } } }, at: t0 + 50 } };
    given([added, ahead])
      .when(sync({ temperature: { expected: { value: '22' }, expected_version: { cloud: 5, edge: 1 } } }))
      .then([{ type: 'TwinCloudSyncConflicted.v1', data: { conflicts: [{ key: 'temperature', reason: 'not allowed to sync due to version conflict' }], at: t0 + 200 } }]);
  });

  it('requires a version, except to delete', () => {
    given([added]).when(sync({ temperature: { expected: { value: '22' } } })).thenRejects({ kind: 'VersionRequired', key: 'temperature' });
    const s = given([added]).when(sync({ temperature: null })).then([{ type: 'TwinExpectedSynced.v1', data: { twin: { temperature: null }, at: t0 + 200 } }]);
    expect(s.status).toBe('synced');
  });

  it('records nothing when the same revision arrives again', () => given([added]).when(sync({ temperature: { expected: { value: '25' }, metadata: { type: 'float' }, expected_version: { cloud: 3, edge: 0 } } })).then([]));

  it('refuses an expected value of the wrong type', () =>
    given([added]).when(sync({ temperature: { expected: { value: 'hot' }, expected_version: { cloud: 4, edge: 0 } } })).thenRejects({ kind: 'BadRequest', reason: 'temperature: the value is not float' }));
});

describe('given a device, a state report (rule 49)', () => {
  it('accepts states case-insensitively and stamps last_online for online', () =>
    given([added]).when(state('ONLINE', Date.UTC(2026, 10, 1, 9, 30, 15, 250))).then([{ type: 'DeviceStateChanged.v1', data: { state: 'online', last_online: '2026-11-01T09:30:15Z', at: Date.UTC(2026, 10, 1, 9, 30, 15, 250) } }]));

  it('empties last_online for the other states', () => {
    const online: TwinEvent = { type: 'DeviceStateChanged.v1', data: { state: 'online', last_online: '2026-11-01T09:30:15Z', at: t0 } };
    given([added, online]).when(state('unhealthy')).then([{ type: 'DeviceStateChanged.v1', data: { state: 'unhealthy', last_online: '', at: t0 + 300 } }]);
  });

  it('records nothing for a repeated state', () => {
    const online: TwinEvent = { type: 'DeviceStateChanged.v1', data: { state: 'online', last_online: '2026-11-01T09:30:15Z', at: t0 } };
    given([added, online]).when(state('online')).then([]);
  });

  it('drops an unknown state', () => given([added]).when(state('sleepy')).thenRejects({ kind: 'UnknownDeviceState', state: 'sleepy' }));
});

describe('given a removed device', () => {
  const removed: TwinEvent[] = [added, { type: 'DeviceRemoved.v1', data: { at: t0 + 900 } }];

  it('was removed from the present state', () => given([added]).when({ type: 'RemoveDevice', data: { at: t0 + 900 } }).then([removed[1] as TwinEvent]));

  it('answers updates with 404 and records nothing for a second removal', () => {
    given(removed).when(update({ temperature: { actual: { value: '25' } } })).thenRejects({ kind: 'DeviceNotFound', code: 404 });
    given(removed).when({ type: 'RemoveDevice', data: { at: t0 + 950 } }).then([]);
  });

  it('can be added again when it comes back to this node', () => {
    const s = given(removed).when({ type: 'AddDevice', data: { device, generation: 5, properties: [], at: t0 + 1000 } }).then([{ type: 'DeviceAdded.v1', data: { device, generation: 5, twin: {}, at: t0 + 1000 } }]);
    expect(s).toMatchObject({ status: 'synced', generation: 5, twin: {} });
  });

  it('refuses to add a device that is already here', () => given([added]).when({ type: 'AddDevice', data: { device, generation: 3, properties: [], at: t0 } }).thenRejects({ kind: 'DeviceAlreadyAdded' }));
});

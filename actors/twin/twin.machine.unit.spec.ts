// The twin machine through XState's pure transition API (STYLE R7), and the decoding (with the
// v1 → v2 upcast) of recorded twin events: an event gives the next snapshot and the effects to run.
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { foldEvents } from '../host/fold.js';
import { decodeTwinEvent, type StoredTwin, type TwinEvent } from './twin.events.js';
import { twinMachine } from './twin.machine.js';

type Snapshot = SnapshotFrom<typeof twinMachine>;
const device = { namespace: 'default', name: 'thermostat', uid: 'd1' };
const t0 = 1_790_000_000_000;

const temperature: StoredTwin = {
  expected: { value: '25', metadata: { timestamp: t0 } },
  actual: null,
  optional: false,
  metadata: { type: 'float' },
  expected_version: { cloud: 3, edge: 0 },
  actual_version: null,
};
const added: TwinEvent = { type: 'DeviceAdded.v1', data: { device, generation: 3, twin: { temperature }, at: t0 } };
const reportedTemperature = (value: string, edge = 1): TwinEvent => ({
  type: 'TwinActualReported.v2',
  data: { event_id: 'e1', twin: { temperature: { actual: { value, metadata: { timestamp: t0 + 100 } }, optional: false, metadata: { type: 'float' }, actual_version: { cloud: 0, edge } } }, at: t0 + 100 },
});
const mqtt = (t: StoredTwin) => ({ expected: t.expected, actual: t.actual, optional: t.optional, metadata: t.metadata });

/** Folds events purely and returns the last step's snapshot and effects as {type, params}. */
function step(events: readonly TwinEvent[]): [Snapshot, { type: string; params: unknown }[]] {
  let [snapshot, actions] = initialTransition(twinMachine);
  for (const event of events) [snapshot, actions] = transition(twinMachine, snapshot, event);
  return [snapshot, actions.map((a) => ({ type: a.type, params: a.params }))];
}

describe('the twin machine', () => {
  it('starts absent with no effects', () => {
    const [snapshot, actions] = initialTransition(twinMachine);
    expect(snapshot.value).toBe('absent');
    expect(actions).toEqual([]);
  });

  it('a device added with an unmet expectation is drifted and tells the mapper the delta, without versions', () => {
    const [snapshot, actions] = step([added]);
    expect(snapshot.value).toBe('drifted');
    expect(actions).toEqual([{ type: 'publishDelta', params: { device, twin: { temperature: mqtt(temperature) }, delta: { temperature: '25' } } }]);
  });

  it('a device added with nothing expected is synced and publishes nothing', () => {
    const [snapshot, actions] = step([{ type: 'DeviceAdded.v1', data: { device, generation: 1, twin: { mode: { ...temperature, expected: null } }, at: t0 } }]);
    expect(snapshot.value).toBe('synced');
    expect(actions).toEqual([]);
  });

  it('an accepted MQTT update publishes its result and document and goes to the cloud; met, it needs no delta', () => {
    const [snapshot, actions] = step([added, reportedTemperature('25')]);
    expect(snapshot.value).toBe('synced');
    const current = snapshot.context.twin['temperature'];
    expect(current?.actual).toEqual({ value: '25', metadata: { timestamp: t0 + 100 } });
    expect(actions).toEqual([
      { type: 'publishResult', params: { device, event_id: 'e1', twin: { temperature: mqtt(current as StoredTwin) } } },
      { type: 'publishDocument', params: { device, twin: { temperature: { last: temperature, current } } } },
      { type: 'reportToCloud', params: { device, twin: { temperature: current } } },
    ]);
  });

  it('an update that leaves a mismatch also publishes the delta', () => {
    const [snapshot, actions] = step([added, reportedTemperature('23.5')]);
    expect(snapshot.value).toBe('drifted');
    expect(actions.map((a) => a.type)).toEqual(['publishResult', 'publishDocument', 'publishDelta', 'reportToCloud']);
  });

  it('a deleted property shows as null in the result and the document', () => {
    const withHumidity: TwinEvent = { type: 'TwinActualReported.v2', data: { event_id: 'e1', twin: { humidity: { actual: { value: '40', metadata: { timestamp: t0 } }, optional: true, metadata: { type: 'int' }, actual_version: { cloud: 0, edge: 1 } } }, at: t0 } };
    const [snapshot, actions] = step([added, withHumidity, { type: 'TwinActualReported.v2', data: { event_id: 'e2', twin: { humidity: null }, at: t0 + 5 } }]);
    expect(snapshot.context.twin['humidity']).toMatchObject({ metadata: { type: 'deleted' }, actual: null, actual_version: { cloud: 0, edge: 1 } });
    expect(actions[0]).toEqual({ type: 'publishResult', params: { device, event_id: 'e2', twin: { humidity: null } } });
    expect(actions[1]).toMatchObject({ type: 'publishDocument', params: { twin: { humidity: { current: null } } } });
  });

  it('a cloud sync publishes the document and the delta, but no result: nobody on MQTT asked', () => {
    const synced: TwinEvent = { type: 'TwinExpectedSynced.v1', data: { twin: { temperature: { expected: { value: '22', metadata: { timestamp: t0 + 200 } }, optional: false, metadata: { type: 'float' }, expected_version: { cloud: 4, edge: 0 } } }, at: t0 + 200 } };
    const [snapshot, actions] = step([added, reportedTemperature('25'), synced]);
    expect(snapshot.value).toBe('drifted');
    expect(snapshot.context.generation).toBe(4);
    expect(actions.map((a) => a.type)).toEqual(['publishDocument', 'publishDelta']);
    expect(actions[1]).toMatchObject({ params: { delta: { temperature: '22' } } });
  });

  it('a refused cloud sync pushes the edge’s own value back to the cloud', () => {
    const [snapshot, actions] = step([added, reportedTemperature('25'), { type: 'TwinCloudSyncConflicted.v1', data: { conflicts: [{ key: 'temperature', reason: 'version not allowed' }], at: t0 + 200 } }]);
    expect(snapshot.value).toBe('synced');
    expect(actions).toEqual([{ type: 'reportToCloud', params: { device, twin: { temperature: snapshot.context.twin['temperature'] } } }]);
  });

  it('a state change is reported to the cloud', () => {
    const [snapshot, actions] = step([added, { type: 'DeviceStateChanged.v1', data: { state: 'online', last_online: '2026-11-01T09:30:15Z', at: t0 } }]);
    expect(snapshot.context).toMatchObject({ state: 'online', last_online: '2026-11-01T09:30:15Z' });
    expect(actions).toEqual([{ type: 'reportStateToCloud', params: { device, state: 'online', last_online: '2026-11-01T09:30:15Z' } }]);
  });

  it('a removed twin ignores later events and publishes nothing', () => {
    const [snapshot, actions] = step([added, { type: 'DeviceRemoved.v1', data: { at: t0 + 1 } }, reportedTemperature('25')]);
    expect(snapshot.value).toBe('removed');
    expect(snapshot.context.twin['temperature']?.actual).toBeNull();
    expect(actions).toEqual([]);
  });

  it('has a context that survives a JSON round trip unchanged', () => {
    const [snapshot] = step([added, reportedTemperature('23.5')]);
    const persisted = twinMachine.getPersistedSnapshot(snapshot);
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
  });
});

describe('decoding recorded twin events', () => {
  const v1 = { event_id: 'e1', twin: { temperature: { actual: { value: '23.5' }, optional: false, metadata: { type: 'float' }, actual_version: { cloud: 0, edge: 1 } }, gone: null }, at: t0 + 100 };

  it('upcasts TwinActualReported.v1 to v2, stamping actual values with the time they were stored', () =>
    expect(decodeTwinEvent('TwinActualReported.v1', v1)).toEqual({
      ok: true,
      value: {
        type: 'TwinActualReported.v2',
        data: { event_id: 'e1', twin: { temperature: { actual: { value: '23.5', metadata: { timestamp: t0 + 100 } }, optional: false, metadata: { type: 'float' }, actual_version: { cloud: 0, edge: 1 } }, gone: null }, at: t0 + 100 },
      },
    }));

  it('rebuilds the same twin from a v1 journal as from a v2 one', () => {
    const upcast = decodeTwinEvent('TwinActualReported.v1', { ...v1, twin: { temperature: v1.twin.temperature } });
    expect(upcast.ok).toBe(true);
    if (!upcast.ok) return;
    expect(foldEvents(twinMachine, [added, upcast.value]).context).toEqual(foldEvents(twinMachine, [added, reportedTemperature('23.5')]).context);
  });

  it('refuses a malformed v1 instead of upcasting it', () =>
    expect(decodeTwinEvent('TwinActualReported.v1', { ...v1, at: 'yesterday' })).toMatchObject({ ok: false, error: { kind: 'MalformedEventData', type: 'TwinActualReported.v1', detail: expect.stringContaining('data.at') } }));

  it('reads a current event back as it is', () => expect(decodeTwinEvent('DeviceRemoved.v1', { at: t0 })).toEqual({ ok: true, value: { type: 'DeviceRemoved.v1', data: { at: t0 } } }));

  it('refuses an unknown type and a v2 without timestamps', () => {
    expect(decodeTwinEvent('TwinExploded.v1', {})).toMatchObject({ ok: false, error: { kind: 'UnknownEventType' } });
    expect(decodeTwinEvent('TwinActualReported.v2', v1)).toMatchObject({ ok: false, error: { kind: 'MalformedEventData', detail: expect.stringContaining('metadata') } });
  });
});

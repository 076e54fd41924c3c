// The Device status plan, given/when/then: given the Device as the API holds it, when an edge's twin
// or state report (parsed from its event data, at an edge position) is planned, then the status to
// write follows KubeEdge's mapping (actual → reported, expected → observedDesired, metadata strings),
// or the plan says why nothing is written (gone, re-created, bound elsewhere, stale position).
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import {
  DEVICE_POSITION_KEY,
  jobOf,
  mergeJobs,
  parseStateReport,
  parseTwinReport,
  planDeviceStatus,
  storedDevicePosition,
  type DeviceStatusJob,
  type DeviceStatusPlan,
} from './device-status.plan.js';

const UID = 'uid-thermostat-1';
const at = (seq: number, journalId = 'journal-a') => ({ journalId, seq });

const device = (status?: JsonObject, overrides: { uid?: string; nodeName?: string } = {}): JsonObject => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'thermostat', namespace: 'default', uid: overrides.uid ?? UID, resourceVersion: '42' },
  spec: { deviceModelRef: { name: 'thermostat-model' }, nodeName: overrides.nodeName ?? 'edge-1', properties: [{ name: 'temperature' }, { name: 'mode' }] },
  ...(status === undefined ? {} : { status }),
});

const side = (value: string, timestamp?: number): JsonObject => ({ value, metadata: timestamp === undefined ? {} : { timestamp } });
const twinData = (twin: JsonObject, extra: JsonObject = {}): JsonObject => ({
  resource: 'device/default/thermostat/twin/edge_updated',
  UID,
  event_id: 'e-1',
  timestamp: 1717000000999,
  twin,
  ...extra,
});
const stateData = (state: string, lastOnlineTime?: string): JsonObject => ({
  resource: 'device/default/thermostat/state/update',
  UID,
  event_id: 'e-2',
  timestamp: 1717000001000,
  device: { name: 'thermostat', state, ...(lastOnlineTime === undefined ? {} : { lastOnlineTime }) },
});

function twinJob(data: JsonObject, seq: number, journalId?: string): DeviceStatusJob {
  const parsed = parseTwinReport(data);
  if (!parsed.ok) throw new Error(parsed.error);
  return jobOf('edge-1', at(seq, journalId), parsed.value);
}
function stateJob(data: JsonObject, seq: number): DeviceStatusJob {
  const parsed = parseStateReport(data);
  if (!parsed.ok) throw new Error(parsed.error);
  return jobOf('edge-1', at(seq), parsed.value);
}
const written = (plan: DeviceStatusPlan): JsonObject => {
  if (plan.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(plan)}`);
  return plan.status;
};

const thermostatTwin: JsonObject = {
  mode: { expected: side('heat', 1717000000000), actual: side('off', 1717000000400), optional: false, metadata: { type: 'string' }, expected_version: { cloud: 3, edge: 0 }, actual_version: { cloud: 0, edge: 7 } },
  temperature: { expected: null, actual: side('23.5', 1717000000400), optional: false, metadata: { type: 'float' } },
  battery: { actual: side('88'), metadata: { type: 'int' } },
  alarm: null,
  humidity: { actual: side('40'), metadata: { type: 'deleted' } },
  idle: { expected: null, actual: null, metadata: { type: 'string' } },
};

describe('given a Device never reported', () => {
  it('a twin report writes one entry per live property: actual → reported, expected → observedDesired (empty when neither), metadata timestamp and type as strings, with the position', () => {
    const status = written(planDeviceStatus(twinJob(twinData(thermostatTwin), 7), device()));
    const stamp = 'journal-a/7';
    expect(status).toEqual({
      twins: [
        { propertyName: 'temperature', reported: { value: '23.5', metadata: { timestamp: '1717000000400', type: 'float', [DEVICE_POSITION_KEY]: stamp } } },
        {
          propertyName: 'mode',
          reported: { value: 'off', metadata: { timestamp: '1717000000400', type: 'string', [DEVICE_POSITION_KEY]: stamp } },
          observedDesired: { value: 'heat', metadata: { timestamp: '1717000000000', type: 'string', [DEVICE_POSITION_KEY]: stamp } },
        },
        // Not in spec.properties: after those, by name; its timestamp is the report's.
        { propertyName: 'battery', reported: { value: '88', metadata: { timestamp: '1717000000999', type: 'int', [DEVICE_POSITION_KEY]: stamp } } },
        // Live with neither value: an empty observedDesired ("no expectation") that carries the position.
        { propertyName: 'idle', observedDesired: { value: '', metadata: { type: 'string', [DEVICE_POSITION_KEY]: stamp } } },
      ],
    });
  });

  it('a state report writes state and lastOnlineTime (and an empty twins list: nothing to stamp)', () => {
    expect(written(planDeviceStatus(stateJob(stateData('online', '2024-05-29T16:26:40Z'), 3), device()))).toEqual({ twins: [], state: 'online', lastOnlineTime: '2024-05-29T16:26:40Z' });
  });

  it('a twin with no type defaults to string, and a value sent as a number is kept as its text', () => {
    const status = written(planDeviceStatus(twinJob(twinData({ level: { actual: { value: 5, metadata: { timestamp: '17' } } } }), 1), device()));
    expect(status['twins']).toEqual([{ propertyName: 'level', reported: { value: '5', metadata: { timestamp: '17', type: 'string', [DEVICE_POSITION_KEY]: 'journal-a/1' } } }]);
  });
});

describe('given a Device whose status reflects journal-a/10', () => {
  const reportedAt10 = (): JsonObject =>
    written(planDeviceStatus(twinJob(twinData({ temperature: { actual: side('20', 1), metadata: { type: 'float' } }, mode: { expected: side('cool', 1), metadata: { type: 'string' } } }), 10), device()));
  const storedAt10 = (): JsonObject => device({ ...reportedAt10(), state: 'online', lastOnlineTime: '2024-05-29T16:00:00Z' });

  it('the stored position is read back from the twin entries', () => {
    expect(storedDevicePosition(reportedAt10())).toEqual(at(10));
  });

  it('a later twin report replaces the twins whole: a property deleted (null) leaves the list', () => {
    const status = written(planDeviceStatus(twinJob(twinData({ temperature: { actual: side('21', 2), metadata: { type: 'float' } }, mode: null }), 11), storedAt10()));
    expect(status['twins']).toEqual([{ propertyName: 'temperature', reported: { value: '21', metadata: { timestamp: '2', type: 'float', [DEVICE_POSITION_KEY]: 'journal-a/11' } } }]);
    expect(status).not.toHaveProperty('state');
  });

  it('a later state report keeps the twins, restamped with its position, so the fence moves with it', () => {
    const status = written(planDeviceStatus(stateJob(stateData('offline'), 12), storedAt10()));
    expect(status['state']).toBe('offline');
    // An offline report without lastOnlineTime keeps the stored one: when the device was last online.
    expect(status).not.toHaveProperty('lastOnlineTime');
    expect(storedDevicePosition(status)).toEqual(at(12));
    expect((status['twins'] as JsonObject[]).map((t) => t['propertyName'])).toEqual(['temperature', 'mode']);
  });

  it('skips a report at the same position (applied again after a crash) or an older one', () => {
    const same = planDeviceStatus(twinJob(twinData({ temperature: { actual: side('99'), metadata: { type: 'float' } } }), 10), storedAt10());
    const older = planDeviceStatus(stateJob(stateData('unknown'), 9), storedAt10());
    expect(same).toEqual({ kind: 'skip', skip: { kind: 'stale', why: expect.stringContaining('journal-a/10'), stored: at(10) } });
    expect(older.kind === 'skip' && older.skip.kind).toBe('stale');
  });

  it('a report of another journal asks for the node’s lineage, and writes only when that journal is the newest', () => {
    const job = twinJob(twinData({ temperature: { actual: side('5'), metadata: { type: 'float' } } }), 1, 'journal-b');
    expect(planDeviceStatus(job, storedAt10())).toEqual({ kind: 'askLineage' });
    expect(planDeviceStatus(job, storedAt10(), ['journal-b', 'journal-a']).kind).toBe('write');
    expect(planDeviceStatus(job, storedAt10(), ['journal-a', 'journal-b'])).toEqual({ kind: 'skip', skip: { kind: 'stale', why: expect.stringContaining('journal-b'), stored: at(10) } });
  });
});

describe('given a Device that is not the one reported about', () => {
  const job = () => twinJob(twinData({ temperature: { actual: side('20'), metadata: { type: 'float' } } }), 5);

  it('writes nothing when the Device is gone', () => {
    expect(planDeviceStatus(job(), undefined)).toEqual({ kind: 'skip', skip: { kind: 'gone' } });
  });

  it('writes nothing when the Device was deleted and created again (another UID)', () => {
    expect(planDeviceStatus(job(), device(undefined, { uid: 'uid-successor' }))).toEqual({ kind: 'skip', skip: { kind: 'uidMismatch', stored: 'uid-successor' } });
  });

  it('writes nothing when the Device is bound to another node now', () => {
    expect(planDeviceStatus(job(), device(undefined, { nodeName: 'edge-2' }))).toEqual({ kind: 'skip', skip: { kind: 'otherNode', boundTo: 'edge-2' } });
  });
});

describe('coalescing two jobs for one device', () => {
  it('keeps the newest twin report and the newest state report, and the newer position', () => {
    const twins5 = twinJob(twinData({ temperature: { actual: side('1'), metadata: { type: 'float' } } }), 5);
    const state6 = stateJob(stateData('online', '2024-05-29T16:26:40Z'), 6);
    const twins7 = twinJob(twinData({ temperature: { actual: side('3'), metadata: { type: 'float' } } }), 7);
    const merged = mergeJobs(mergeJobs(twins5, state6), twins7);
    expect(merged.position).toEqual(at(7));
    expect(merged.state?.position).toEqual(at(6));
    const status = written(planDeviceStatus(merged, device()));
    expect(status).toEqual(expect.objectContaining({ state: 'online', lastOnlineTime: '2024-05-29T16:26:40Z' }));
    expect((status['twins'] as JsonObject[])[0]).toEqual(expect.objectContaining({ reported: expect.objectContaining({ value: '3' }) }));
  });

  it('a job of another journal replaces the held one whole: no state of the old journal rides on the new one’s write', () => {
    const held = mergeJobs(stateJob(stateData('online'), 6), twinJob(twinData({ temperature: { actual: side('1'), metadata: { type: 'float' } } }), 7));
    const arriving = twinJob(twinData({ temperature: { actual: side('2'), metadata: { type: 'float' } } }), 1, 'journal-b');
    expect(mergeJobs(held, arriving)).toEqual(arriving);
  });

  it('an older report arriving late (same journal) does not replace a newer one', () => {
    const newer = twinJob(twinData({ temperature: { actual: side('new'), metadata: { type: 'float' } } }), 9);
    const older = twinJob(twinData({ temperature: { actual: side('old'), metadata: { type: 'float' } } }), 8);
    const merged = mergeJobs(newer, older);
    expect(merged.position).toEqual(at(9));
    expect(merged.twins?.report.twins.get('temperature')?.actual?.value).toBe('new');
  });
});

describe('parsing reports at the boundary', () => {
  it('refuses malformed twin reports with a reason', () => {
    const cases: Array<[string, unknown]> = [
      ['resource', twinData({}, { resource: 'default/thermostat/twin/edge_updated' })],
      ['resource', twinData({}, { resource: 'device/default/thermostat/state/update' })],
      ['UID', { ...twinData({}), UID: undefined }],
      ['twin', { ...twinData({}), twin: 'nope' }],
      ['not a string', twinData({ temperature: { actual: { value: { nested: true } } } })],
      ['neither', twinData({ temperature: 'hot' })],
      ['not an object', twinData({ temperature: { actual: 'hot' } })],
      ['resource', null],
    ];
    for (const [reason, data] of cases) {
      const parsed = parseTwinReport(data);
      expect(parsed.ok ? 'parsed' : parsed.error).toContain(reason);
    }
  });

  it('refuses malformed state reports with a reason, and reads an empty lastOnlineTime as none', () => {
    expect(parseStateReport({ ...stateData('online'), device: {} })).toEqual({ ok: false, error: 'device.state missing' });
    expect(parseStateReport({ ...stateData('online'), resource: 'device/default/thermostat/twin/edge_updated' }).ok).toBe(false);
    const parsed = parseStateReport(stateData('offline', ''));
    expect(parsed.ok && parsed.value.lastOnlineTime).toBeUndefined();
  });
});

// The device twin host with a real SQLite journal. Method: given held Devices, when the host
// reconciles, MQTT messages arrive (as the EventBus hands them over) or the host restarts on the
// same journal file, then the MQTT answers and notices it publishes and the up events it reports
// (both captured) say what KubeEdge's DeviceTwin says, and the journal holds each device once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost, twinStream } from '../../actors/index.js';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { ok, randomIds, systemClock, type JsonObject, type JsonValue } from '../../kernel/index.js';
import { parseDeviceTopic, type InboundDeviceMessage, type UpEvent } from '../../transport/index.js';
import { DEVICE_STATE_REPORTED, TWIN_REPORTED } from '../reports/edge-reports.js';
import { DeviceTwinHost, TWIN_MAILBOX_MESSAGES_MAX } from './twin-host.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const base = '$hw/events/device/plant/thermostat';
const membershipUpdatedTopic = '$hw/events/node/edge-1/membership/updated';

const deviceOf = (extra: { generation?: number; uid?: string; desired?: string } = {}): JsonObject => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'thermostat', namespace: 'plant', uid: extra.uid ?? 'uid-1', generation: extra.generation ?? 1 },
  spec: {
    deviceModelRef: { name: 'thermo-model' },
    nodeName: 'edge-1',
    properties: [{ name: 'temperature', desired: { value: extra.desired ?? '25' } }, { name: 'mode' }],
  },
});
const thermoModel: JsonObject = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'thermo-model', namespace: 'plant' },
  spec: { properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadWrite' }, { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' }] },
};
const withModel = (namespace: string, name: string): JsonObject | undefined => (namespace === 'plant' && name === 'thermo-model' ? thermoModel : undefined);
const noModel = (): JsonObject | undefined => undefined;

/** What the EventBus hands over for a publish on `topic`. */
const mqtt = (topic: string, payload: JsonValue): InboundDeviceMessage => {
  const parsed = parseDeviceTopic(topic);
  if (!parsed.ok) throw new Error(parsed.error);
  return { topic: parsed.value, rawTopic: topic, payload: ok(payload) };
};

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Published {
  readonly topic: string;
  readonly body: Record<string, unknown>;
}

interface Life {
  readonly twins: DeviceTwinHost;
  readonly store: SqliteEventStore;
  readonly published: Published[];
  readonly reports: UpEvent[];
  readonly warnings: string[];
  /** Published since mark `from`, on `topic`. */
  on(topic: string, from?: number): Record<string, unknown>[];
  end(): Promise<void>;
}

/** One edge life on `dir`: journal, actor host and twin host, as `edgehive edge` wires them. */
function lifeOn(dir: string, report?: (events: readonly UpEvent[]) => Promise<unknown>): Life {
  const journal = openSqliteJournal(join(dir, 'journal.db'));
  if (!journal.ok) throw new Error(journal.error.kind);
  const store = journal.value;
  const published: Published[] = [];
  const reports: UpEvent[] = [];
  const warnings: string[] = [];
  const twins = new DeviceTwinHost({
    nodeName: 'edge-1',
    host: new ActorHost({ store, clock: systemClock, ids: randomIds, origin: 'edge-1' }),
    report: report ?? (async (events) => void reports.push(...events)),
    publish: (topic, payload) => void published.push({ topic, body: JSON.parse(payload) as Record<string, unknown> }),
    clock: systemClock,
    ids: randomIds,
    log: { info: () => undefined, warn: (_, msg) => void warnings.push(msg) },
  });
  let ended = false;
  const end = async (): Promise<void> => {
    if (ended) return;
    ended = true;
    await twins.stop();
    await store.close();
  };
  cleanups.push(end);
  const on = (topic: string, from = 0) => published.slice(from).filter((p) => p.topic === topic).map((p) => p.body);
  return { twins, store, published, reports, warnings, on, end };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-twins-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const twinReports = (reports: readonly UpEvent[]) => reports.filter((r) => r.type === TWIN_REPORTED).map((r) => r.data as { UID: string; resource: string; twin: Record<string, { expected: { value: string } | null; actual: { value: string } | null; expected_version: unknown; actual_version: unknown; metadata: { type: string } } | null> });
const lastTwinReport = (reports: readonly UpEvent[]) => twinReports(reports).at(-1);

describe('a device bound to the node', () => {
  it('is added, updated from MQTT and the cloud, read, reported and removed as KubeEdge does', async () => {
    const life = lifeOn(tempDir());
    await life.twins.start([], withModel);

    // Added: the mapper hears of the device first, then of its desired value.
    await life.twins.reconcile([deviceOf()], withModel);
    expect(life.published.map((p) => p.topic)).toEqual([membershipUpdatedTopic, `${base}/twin/update/delta`]);
    expect(life.published[0]!.body).toMatchObject({ added_devices: [{ id: 'plant/thermostat', name: 'thermostat' }], removed_devices: [] });
    expect(life.published[1]!.body).toMatchObject({ delta: { temperature: '25' }, twin: { temperature: { expected: { value: '25' }, metadata: { type: 'float' } } } });
    expect(life.published[1]!.body['twin']).not.toHaveProperty('temperature.expected_version');
    const added = await until('the added twin reported', () => lastTwinReport(life.reports));
    expect(added).toMatchObject({ UID: 'uid-1', resource: 'device/plant/thermostat/twin/edge_updated', twin: { temperature: { expected: { value: '25' }, expected_version: { cloud: 1, edge: 0 } } } });

    // A mapper reports an actual value: result, document, delta (still unmet), report.
    let mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e1', timestamp: 1, twin: { temperature: { actual: { value: '23.5' } } } }));
    expect(life.on(`${base}/twin/update/result`, mark)).toEqual([{ event_id: 'e1', timestamp: expect.any(Number), twin: { temperature: { expected: expect.objectContaining({ value: '25' }), actual: expect.objectContaining({ value: '23.5' }), optional: false, metadata: { type: 'float' } } } }]);
    expect(life.on(`${base}/twin/update/document`, mark)).toMatchObject([{ twin: { temperature: { last: { actual: null }, current: { actual: { value: '23.5' } } } } }]);
    expect(life.on(`${base}/twin/update/delta`, mark)).toMatchObject([{ delta: { temperature: '25' } }]);
    await until('the actual value reported', () => lastTwinReport(life.reports)?.twin['temperature']?.actual?.value === '23.5');
    expect(lastTwinReport(life.reports)?.twin['temperature']).toMatchObject({ actual_version: { cloud: 0, edge: 1 } });

    // The expectation met: no delta.
    mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e2', twin: { temperature: { actual: { value: '25' } } } }));
    expect(life.published.slice(mark).map((p) => p.topic)).toEqual([`${base}/twin/update/result`, `${base}/twin/update/document`]);

    // The cloud's desired value changes (a higher generation): the mapper gets a delta.
    mark = life.published.length;
    await life.twins.reconcile([deviceOf({ generation: 2, desired: '30' })], withModel);
    expect(life.on(`${base}/twin/update/delta`, mark)).toMatchObject([{ delta: { temperature: '30' } }]);
    await until('the new expectation reported', () => lastTwinReport(life.reports)?.twin['temperature']?.expected?.value === '30');
    expect(lastTwinReport(life.reports)?.twin['temperature']).toMatchObject({ expected_version: { cloud: 2, edge: 0 }, actual: { value: '25' } });

    // An app reads the twin.
    mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/twin/get`, { event_id: 'g1' }));
    const got = life.on(`${base}/twin/get/result`, mark);
    expect(got).toMatchObject([{ event_id: 'g1', twin: { temperature: { expected: { value: '30' }, actual: { value: '25' } }, mode: { expected: null, actual: null } } }]);
    expect(JSON.stringify(got)).not.toContain('_version');

    // The mapper says the device is online; an unknown state gets no answer.
    mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/state/update`, { event_id: 's1', state: 'Online' }));
    await life.twins.handle(mqtt(`${base}/state/update`, { event_id: 's2', state: 'exploded' }));
    expect(life.published.slice(mark)).toEqual([{ topic: `${base}/state/update/result`, body: { event_id: 's1', timestamp: expect.any(Number), device: { name: 'thermostat', state: 'online', lastOnlineTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) } } }]);
    const stateReports = () => life.reports.filter((r) => r.type === DEVICE_STATE_REPORTED).map((r) => r.data as { device: { state: string } });
    await until('the state reported', () => stateReports().some((r) => r.device.state === 'online'));
    // The twin's state went up once when it was added (unknown: a Device moved here must not keep its old node's), then online.
    expect(stateReports().map((r) => r.device.state)).toEqual(['unknown', 'online']);
    expect(stateReports()[1]).toMatchObject({ resource: 'device/plant/thermostat/state/update', UID: 'uid-1', device: { name: 'thermostat', state: 'online' } });

    // The mapper asks which devices the node has.
    mark = life.published.length;
    await life.twins.handle(mqtt('$hw/events/node/edge-1/membership/get', { event_id: 'm1' }));
    expect(life.on('$hw/events/node/edge-1/membership/get/result', mark)).toMatchObject([{ event_id: 'm1', devices: [{ id: 'plant/thermostat', name: 'thermostat', state: 'online', attributes: {} }] }]);

    expect(life.twins.twins()).toEqual([{ id: 'plant/thermostat', state: 'online', properties: { temperature: { expected: '30', actual: '25' }, mode: { expected: null, actual: null } } }]);

    // The Device leaves the node.
    mark = life.published.length;
    await life.twins.reconcile([], withModel);
    expect(life.on(membershipUpdatedTopic, mark)).toMatchObject([{ added_devices: [], removed_devices: [{ id: 'plant/thermostat' }] }]);
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e9', twin: { temperature: { actual: { value: '1' } } } }));
    expect(life.on(`${base}/twin/update/result`, mark)).toMatchObject([{ event_id: 'e9', code: 404, reason: 'update rejected due to the device is not existed' }]);
    expect(life.twins.twins()).toEqual([]);
  });

  it('answers bad requests on the result topics and stores nothing of them', async () => {
    const life = lifeOn(tempDir());
    await life.twins.start([deviceOf()], withModel);
    const mark = life.published.length;
    const reportsBefore = twinReports(life.reports).length;

    await life.twins.handle({ ...mqtt(`${base}/twin/update`, {}), payload: { ok: false, error: { kind: 'PayloadMalformed', reason: 'Unexpected token' } } });
    await life.twins.handle({ ...mqtt(`${base}/twin/update`, {}), payload: { ok: false, error: { kind: 'PayloadTooLarge', bytes: 70_000, bytesMax: 65_536, reason: 'too large' } } });
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'b1' }));
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'b2', twin: { temperature: { expected: { value: '99' } } } }));
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'b3', twin: { temperature: { actual: { value: 'hot' } } } }));
    await life.twins.handle(mqtt('$hw/events/device/plant/nobody/twin/update', { event_id: 'b4', twin: { temperature: { actual: { value: '1' } } } }));
    await life.twins.handle(mqtt('$hw/events/device/plant/nobody/twin/get', { event_id: 'b5' }));
    await life.twins.handle(mqtt(`${base}/twin/get`, [1, 2]));

    expect(life.published.slice(mark)).toEqual([
      { topic: `${base}/twin/update/result`, body: { event_id: '', timestamp: expect.any(Number), code: 400, reason: 'the payload is not valid JSON: Unexpected token' } },
      { topic: `${base}/twin/update/result`, body: { event_id: '', timestamp: expect.any(Number), code: 400, reason: 'the payload of 70000 bytes is larger than the 65536 bytes allowed' } },
      { topic: `${base}/twin/update/result`, body: { event_id: 'b1', timestamp: expect.any(Number), code: 400, reason: 'the update has no twin' } },
      { topic: `${base}/twin/update/result`, body: { event_id: 'b2', timestamp: expect.any(Number), code: 400, reason: expect.stringContaining('expected is owned by the cloud') } },
      { topic: `${base}/twin/update/result`, body: { event_id: 'b3', timestamp: expect.any(Number), code: 400, reason: 'the value is not float' } },
      { topic: '$hw/events/device/plant/nobody/twin/update/result', body: { event_id: 'b4', timestamp: expect.any(Number), code: 404, reason: 'update rejected due to the device is not existed' } },
      { topic: '$hw/events/device/plant/nobody/twin/get/result', body: { event_id: 'b5', timestamp: expect.any(Number), code: 404, reason: 'Device plant/nobody not found while getting twin' } },
      { topic: `${base}/twin/get/result`, body: { event_id: '', timestamp: expect.any(Number), code: 400, reason: 'the payload must be a JSON object' } },
    ]);
    expect(life.twins.twins()[0]?.properties['temperature']).toEqual({ expected: '25', actual: null });
    expect(twinReports(life.reports).length).toBe(reportsBefore);
  });

  it('answers messages beyond the mailbox bound with 429 instead of dropping them', async () => {
    const life = lifeOn(tempDir());
    await life.twins.start([deviceOf()], withModel);
    const mark = life.published.length;
    const sent = TWIN_MAILBOX_MESSAGES_MAX + 5;
    await Promise.all(Array.from({ length: sent }, (_, i) => life.twins.handle(mqtt(`${base}/twin/update`, { event_id: `e${i}`, twin: { temperature: { actual: { value: String(i) } } } }))));
    const results = life.on(`${base}/twin/update/result`, mark);
    expect(results).toHaveLength(sent);
    expect(results.filter((r) => r['code'] === 429)).toHaveLength(5);
    // Served in arrival order: the last accepted value is the twin's.
    expect(life.twins.twins()[0]?.properties['temperature']?.actual).toBe(String(TWIN_MAILBOX_MESSAGES_MAX - 1));
    // Reports went up in the order the changes were journaled: the values only ever grow.
    await until('the last value reported', () => lastTwinReport(life.reports)?.twin['temperature']?.actual?.value === String(TWIN_MAILBOX_MESSAGES_MAX - 1));
    const values = twinReports(life.reports).flatMap((r) => (r.twin['temperature']?.actual ? [Number(r.twin['temperature'].actual.value)] : []));
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it('takes property types from desired metadata until the DeviceModel arrives, then from the model', async () => {
    const life = lifeOn(tempDir());
    await life.twins.start([deviceOf()], noModel);
    await life.twins.handle(mqtt(`${base}/twin/get`, { event_id: 'g1' }));
    expect(life.on(`${base}/twin/get/result`)).toMatchObject([{ twin: { temperature: { metadata: { type: 'string' } } } }]);

    await life.twins.reconcile([deviceOf()], withModel);
    const mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/twin/get`, { event_id: 'g2' }));
    expect(life.on(`${base}/twin/get/result`, mark)).toMatchObject([{ twin: { temperature: { metadata: { type: 'float' } }, mode: { metadata: { type: 'string' } } } }]);
    await until('the typed twin reported', () => lastTwinReport(life.reports)?.twin['temperature']?.metadata.type === 'float');
  });

  it('replaces a Device re-created under the same name (a new uid) with a new twin', async () => {
    const life = lifeOn(tempDir());
    await life.twins.start([deviceOf()], withModel);
    await life.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e1', twin: { temperature: { actual: { value: '23.5' } } } }));
    const mark = life.published.length;
    await life.twins.reconcile([deviceOf({ uid: 'uid-2' })], withModel);
    expect(life.on(membershipUpdatedTopic, mark)).toMatchObject([
      { added_devices: [], removed_devices: [{ id: 'plant/thermostat' }] },
      { added_devices: [{ id: 'plant/thermostat' }], removed_devices: [] },
    ]);
    expect(life.twins.twins()).toEqual([{ id: 'plant/thermostat', state: 'unknown', properties: { temperature: { expected: '25', actual: null }, mode: { expected: null, actual: null } } }]);
    await until('the new twin reported', () => lastTwinReport(life.reports)?.UID === 'uid-2');
  });

  it('logs a report that fails and keeps serving', async () => {
    const life = lifeOn(tempDir(), () => Promise.reject(new Error('outbox full')));
    await life.twins.start([deviceOf()], withModel);
    await until('the failure logged', () => life.warnings.includes('twin report failed'));
    const mark = life.published.length;
    await life.twins.handle(mqtt(`${base}/twin/get`, { event_id: 'g1' }));
    expect(life.on(`${base}/twin/get/result`, mark)).toMatchObject([{ event_id: 'g1' }]);
  });
});

describe('a restart on the same journal', () => {
  it('rebuilds the same twins, reports them again and adds no device twice', async () => {
    const dir = tempDir();
    const first = lifeOn(dir);
    await first.twins.start([deviceOf()], withModel);
    await first.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e1', twin: { temperature: { actual: { value: '23.5' } }, light: { actual: { value: 'on' } } } }));
    await first.twins.handle(mqtt(`${base}/state/update`, { event_id: 's1', state: 'online' }));
    const before = first.twins.twins();
    await first.end();

    const second = lifeOn(dir);
    await second.twins.start([deviceOf()], withModel);
    expect(second.twins.twins()).toEqual(before);
    // No membership/updated (nothing was added), and the drifted twin's delta once.
    expect(second.published.map((p) => p.topic)).toEqual([`${base}/twin/update/delta`]);
    expect(second.published[0]!.body).toMatchObject({ delta: { temperature: '25' } });
    await until('the twin and state reported again', () => twinReports(second.reports).length === 1 && second.reports.some((r) => r.type === DEVICE_STATE_REPORTED));
    expect(lastTwinReport(second.reports)).toMatchObject({ UID: 'uid-1', twin: { temperature: { actual: { value: '23.5' } }, light: { actual: { value: 'on' } } } });

    const types: string[] = [];
    for await (const event of second.store.readStream(twinStream('plant', 'thermostat', 'uid-1'))) types.push(event.type);
    expect(types.filter((t) => t === 'DeviceAdded.v1')).toHaveLength(1);

    // And it goes on serving from the journal.
    const mark = second.published.length;
    await second.twins.handle(mqtt(`${base}/twin/update`, { event_id: 'e2', twin: { temperature: { actual: { value: '25' } } } }));
    expect(second.on(`${base}/twin/update/result`, mark)).toMatchObject([{ event_id: 'e2', twin: { temperature: { actual: { value: '25' } } } }]);
  });

  it('syncs a Device that changed while the edge was down', async () => {
    const dir = tempDir();
    const first = lifeOn(dir);
    await first.twins.start([deviceOf()], withModel);
    await first.end();

    const second = lifeOn(dir);
    await second.twins.start([deviceOf({ generation: 2, desired: '30' })], withModel);
    expect(second.published.map((p) => p.topic)).toEqual([`${base}/twin/update/document`, `${base}/twin/update/delta`]);
    expect(second.published[1]!.body).toMatchObject({ delta: { temperature: '30' } });
    await until('the synced twin reported', () => lastTwinReport(second.reports)?.twin['temperature']?.expected?.value === '30');
  });
});

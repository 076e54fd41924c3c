// The EventBus under arbitrary input from a real MQTT client. Method: fast-check generates batches
// of topics under $hw/events/ and payload bytes (JSON, invalid UTF-8, empty, over the bus' limit,
// over the broker's limit); a client publishes each batch then a marker, and the messages the bus
// emitted before the marker must be exactly what a simple model predicts: one message per
// published message on a filter it serves, classified as JSON, too large or malformed; nothing
// else. The bus must stay connected, no listener error is logged, and a last well-formed message arrives.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { inboundFilters, parseDeviceTopic, type InboundDeviceMessage } from './device-topics.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { EventBus } from './event-bus.js';
import { Cleanups, connectClient, startTestBus, until, type RecordingLog } from './mqtt.testing.js';

const NODE = 'edge-1';
const BUS_PAYLOAD_BYTES_MAX = 1_024;
const BROKER_PAYLOAD_BYTES_MAX = 4_096;
const MARKER = '$hw/events/upload/fuzz-marker';

/** MQTT topic matching as the spec defines it: `+` is one level (maybe empty), a final `#` the rest, its parent included. */
function matchesFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** What the bus should emit for one published message: nothing, or a payload of this class. */
type Expected = { readonly rawTopic: string; readonly payload: 'json' | 'PayloadTooLarge' | 'PayloadMalformed' } | undefined;

function expectedFor(topic: string, payload: Buffer): Expected {
  if (payload.length > BROKER_PAYLOAD_BYTES_MAX) return undefined;
  if (!inboundFilters(NODE).some((filter) => matchesFilter(filter, topic))) return undefined;
  if (!parseDeviceTopic(topic).ok) return undefined;
  if (payload.length > BUS_PAYLOAD_BYTES_MAX) return { rawTopic: topic, payload: 'PayloadTooLarge' };
  // Valid UTF-8 round-trips through Node's decoder unchanged; a leading BOM may be ignored (RFC 8259 §8.1).
  const text = payload.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(payload)) return { rawTopic: topic, payload: 'PayloadMalformed' };
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
    return { rawTopic: topic, payload: 'json' };
  } catch {
    return { rawTopic: topic, payload: 'PayloadMalformed' };
  }
}

const classOf = (message: InboundDeviceMessage): string => (message.payload.ok ? 'json' : message.payload.error.kind);

const level = fc.string({ maxLength: 12, unit: 'grapheme' }).map((s) => s.replace(/[/+#\u0000]/g, '_'));
const known = fc.constantFrom('default', 'thermo-1', 'twin', 'update', 'get', 'state', 'delete', 'membership', NODE, 'edge-2', '');
const looseTopic = fc
  .tuple(fc.constantFrom('device', 'node', 'upload', 'other', ''), fc.array(fc.oneof(known, level), { maxLength: 8 }))
  .map(([tree, levels]) => ['$hw', 'events', tree, ...levels].join('/'));
/** Near the topics the edge serves: right shape, arbitrary names and operations. */
const deviceTopic = fc
  .tuple(fc.oneof(known, level), fc.oneof(known, level), fc.constantFrom('twin', 'state', 'twin/update'), fc.oneof(fc.constantFrom('update', 'get', 'delete', 'result'), level))
  .map(([namespace, name, group, operation]) => `$hw/events/device/${namespace}/${name}/${group}/${operation}`);
const nodeTopic = fc.tuple(fc.constantFrom(NODE, 'edge-2', ''), fc.constantFrom('membership/get', 'membership/get/result', 'membership/updated')).map(([node, rest]) => `$hw/events/node/${node}/${rest}`);
const uploadTopic = fc.array(level, { maxLength: 4 }).map((levels) => ['$hw/events/upload', ...levels].join('/'));
const topicArb = fc.oneof(deviceTopic, nodeTopic, uploadTopic, looseTopic);
const jsonBytes = fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'));
const payloadArb = fc.oneof(
  jsonBytes,
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(Buffer.alloc(0), Buffer.from([0xc3, 0x28]), Buffer.from([0xef, 0xbb, 0xbf, 0x31]), Buffer.from('{"twin":'), Buffer.from([0xed, 0xa0, 0x80])),
  fc.integer({ min: BUS_PAYLOAD_BYTES_MAX - 2, max: BROKER_PAYLOAD_BYTES_MAX + 2 }).map((size) => Buffer.alloc(size, 0x31)),
);
const batchArb = fc.array(fc.record({ topic: topicArb, payload: payloadArb }), { minLength: 1, maxLength: 12 });

const cleanups = new Cleanups();
let broker: EmbeddedBroker;
let bus: EventBus;
let messages: InboundDeviceMessage[];
let disconnects: string[];
let log: RecordingLog;
let publisher: MqttClient;

beforeAll(async () => {
  const started = await startEmbeddedBroker({ port: 0, payloadBytesMax: BROKER_PAYLOAD_BYTES_MAX });
  if (!started.ok) throw new Error(started.error.message);
  broker = started.value;
  cleanups.add(() => broker.close());
  ({ bus, messages, disconnects, log } = startTestBus(EventBus.start, { url: broker.url, nodeName: NODE, payloadBytesMax: BUS_PAYLOAD_BYTES_MAX }, cleanups));
  await until('the bus to connect', () => bus.connected);
  publisher = (await connectClient(broker.url, cleanups)).client;
});
afterAll(() => cleanups.run());

describe('the EventBus under arbitrary topics and payloads', () => {
  it('emits exactly one correctly classified message per served message, drops the rest, and never breaks', async () => {
    let run = 0;
    let served = 0;
    const classesSeen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        run += 1;
        const from = messages.length;
        for (const { topic, payload } of batch) await publisher.publishAsync(topic, payload, { qos: 1 });
        await publisher.publishAsync(MARKER, JSON.stringify({ run }), { qos: 1 });
        await until(`marker ${run}`, () => messages.some((m, i) => i >= from && m.rawTopic === MARKER));
        served += messages.length - from - 1;
        const emitted = messages.slice(from, -1).map((m) => ({ rawTopic: m.rawTopic, payload: classOf(m) }));
        for (const e of emitted) classesSeen.add(e.payload);
        expect(emitted).toEqual(batch.map(({ topic, payload }) => expectedFor(topic, payload)).filter((e) => e !== undefined));
        expect(messages.at(-1)?.payload).toEqual({ ok: true, value: { run } });
      }),
      { numRuns: 120 },
    );
    // The generators reach served topics with every payload class, not by rare luck (about 250 per run).
    expect(served).toBeGreaterThan(50);
    expect([...classesSeen].sort()).toEqual(['PayloadMalformed', 'PayloadTooLarge', 'json']);
    expect(disconnects).toEqual([]);
    expect(log.count('listener threw')).toBe(0);
    // The unserved-topic log stays bounded however many shapes the fuzzer produced.
    expect(log.count('does not serve')).toBeLessThanOrEqual(64);

    await publisher.publishAsync('$hw/events/device/default/thermo-1/twin/update', '{"twin":{"t":{"actual":{"value":"1"}}}}', { qos: 1 });
    await until('the final well-formed update', () => messages.at(-1)?.rawTopic === '$hw/events/device/default/thermo-1/twin/update');
    expect(messages.at(-1)?.payload).toEqual({ ok: true, value: { twin: { t: { actual: { value: '1' } } } } });
    expect(bus.connected).toBe(true);
  });
});

// MQTT twin messages: given an inbound topic and payload, when decoded, then a twin request or
// the 400 answer KubeEdge gives (rule 39); and the outbound JSON has KubeEdge's shape, no versions.
// A fuzz feeds arbitrary JSON and garbage to every topic kind: decoding never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { err, ok, type JsonValue } from '../../kernel/index.js';
import type { DeviceTopic, InboundDeviceMessage } from '../../transport/index.js';
import { decodeTwinRequest, deltaNotice, documentNotice, getNotFound, membershipGetResult, membershipUpdated, stateUpdateResult, TWIN_UPDATE_KEYS_MAX, updateNotFound, updateResult } from './twin-messages.js';

const device = { namespace: 'plant', name: 'thermostat' };
const base = '$hw/events/device/plant/thermostat';
const t0 = 1_790_000_000_000;

const inbound = (topic: DeviceTopic, payload: JsonValue): InboundDeviceMessage => ({ topic, rawTopic: 'raw', payload: ok(payload) });
const update = (payload: JsonValue) => decodeTwinRequest(inbound({ kind: 'twinUpdate', device }, payload));
const badRequest = (answerTopic: string, reason: string | RegExp, event_id = '') => ({ ok: false, error: { kind: 'BadRequest', answerTopic, event_id, code: 400, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) } });

describe('decoding a twin update', () => {
  it('reads actual values, optional and type', () => {
    expect(update({ event_id: 'e1', timestamp: t0, twin: { temperature: { actual: { value: '23.5' }, metadata: { type: 'float' } }, light: { actual: { value: 'on' }, optional: false }, gone: null } })).toEqual(
      ok({ kind: 'twinUpdate', device, event_id: 'e1', twin: { temperature: { actual: { value: '23.5' }, metadata: { type: 'float' } }, light: { actual: { value: 'on' }, optional: false }, gone: null } }),
    );
  });

  it('keeps an expected value only for the decider to refuse', () => {
    const decoded = update({ event_id: 'e1', twin: { temperature: { expected: { value: '30' } } } });
    expect(decoded).toEqual(ok({ kind: 'twinUpdate', device, event_id: 'e1', twin: { temperature: { expected: { value: '30' } } } }));
  });

  it('answers 400 without a twin key, echoing the event id', () => {
    expect(update({ event_id: 'e2' })).toEqual(badRequest(`${base}/twin/update/result`, 'the update has no twin', 'e2'));
  });

  it('answers 400 for a value that is not a string', () => {
    expect(update({ event_id: 'e3', twin: { temperature: { actual: { value: 23.5 } } } })).toEqual(badRequest(`${base}/twin/update/result`, 'twin temperature actual value must be a string', 'e3'));
  });

  it('answers 400 for more properties than the bound', () => {
    const twin = Object.fromEntries(Array.from({ length: TWIN_UPDATE_KEYS_MAX + 1 }, (_, i) => [`p${i}`, { actual: { value: '1' } }]));
    expect(update({ twin })).toEqual(badRequest(`${base}/twin/update/result`, /more than the 1024 allowed/));
  });

  it('answers 400 with an empty event id for a payload that is not JSON', () => {
    const message: InboundDeviceMessage = { topic: { kind: 'twinUpdate', device }, rawTopic: 'raw', payload: err({ kind: 'PayloadMalformed', reason: 'Unexpected token' }) };
    expect(decodeTwinRequest(message)).toEqual(badRequest(`${base}/twin/update/result`, 'the payload is not valid JSON: Unexpected token'));
  });

  it('answers 400 naming the size and the limit for an oversized payload', () => {
    const message: InboundDeviceMessage = { topic: { kind: 'twinUpdate', device }, rawTopic: 'raw', payload: err({ kind: 'PayloadTooLarge', bytes: 70_000, bytesMax: 65_536, reason: 'too large' }) };
    expect(decodeTwinRequest(message)).toEqual(badRequest(`${base}/twin/update/result`, 'the payload of 70000 bytes is larger than the 65536 bytes allowed'));
  });

  it('keeps a __proto__ key as a key, for the decider to refuse', () => {
    const decoded = update(JSON.parse('{"twin":{"__proto__":{"actual":{"value":"x"}}}}') as JsonValue);
    expect(decoded.ok && Object.keys(decoded.value.kind === 'twinUpdate' ? decoded.value.twin : {})).toEqual(['__proto__']);
  });
});

describe('decoding the other requests', () => {
  it('reads a twin get', () => {
    expect(decodeTwinRequest(inbound({ kind: 'twinGet', device }, { event_id: 'g1' }))).toEqual(ok({ kind: 'twinGet', device, event_id: 'g1' }));
  });

  it('answers an unparseable get with 400 on get/result', () => {
    expect(decodeTwinRequest(inbound({ kind: 'twinGet', device }, 'nonsense'))).toEqual(badRequest(`${base}/twin/get/result`, 'the payload must be a JSON object'));
  });

  it('reads a state update', () => {
    expect(decodeTwinRequest(inbound({ kind: 'stateUpdate', device }, { event_id: 's1', state: 'online' }))).toEqual(ok({ kind: 'stateUpdate', device, event_id: 's1', state: 'online' }));
  });

  it('reads a membership get', () => {
    expect(decodeTwinRequest(inbound({ kind: 'membershipGet', node: 'edge-1' }, { event_id: 'm1' }))).toEqual(ok({ kind: 'membershipGet', node: 'edge-1', event_id: 'm1' }));
  });

  it('leaves uploads to others', () => {
    expect(decodeTwinRequest(inbound({ kind: 'upload', topic: '$hw/events/upload/x' }, {}))).toMatchObject({ ok: false, error: { kind: 'NotForTwins' } });
  });
});

describe('decoding arbitrary payloads (fuzz)', () => {
  const topics: readonly DeviceTopic[] = [
    { kind: 'twinUpdate', device },
    { kind: 'twinGet', device },
    { kind: 'stateUpdate', device },
    { kind: 'membershipGet', node: 'edge-1' },
  ];
  const twinish = fc.record({ event_id: fc.oneof(fc.string(), fc.integer()), twin: fc.dictionary(fc.string(), fc.oneof(fc.constant(null), fc.jsonValue(), fc.record({ actual: fc.jsonValue(), expected: fc.jsonValue(), optional: fc.jsonValue(), metadata: fc.jsonValue() }, { requiredKeys: [] }))) }, { requiredKeys: [] });
  const payload = fc.oneof(fc.jsonValue(), twinish, fc.record({ state: fc.jsonValue(), event_id: fc.jsonValue() }, { requiredKeys: [] }));
  const garbage = fc.oneof(
    fc.string().map((reason) => err({ kind: 'PayloadMalformed' as const, reason })),
    fc.nat().map((bytes) => err({ kind: 'PayloadTooLarge' as const, bytes, bytesMax: 65_536, reason: 'too large' })),
  );

  it('never throws, and yields a request or a 400 on the topic kind`s result topic', () => {
    fc.assert(
      fc.property(fc.constantFrom(...topics), fc.oneof(payload.map((p) => ok(p as JsonValue)), garbage), (topic, body) => {
        const decoded = decodeTwinRequest({ topic, rawTopic: 'raw', payload: body });
        if (decoded.ok) {
          expect(decoded.value.kind).toBe(topic.kind);
          return;
        }
        expect(decoded.error.kind).toBe('BadRequest');
        if (decoded.error.kind === 'BadRequest') {
          expect(decoded.error.code).toBe(400);
          expect(decoded.error.answerTopic).toMatch(/\/(update|get|state\/update|membership\/get)\/result$/);
          expect(decoded.error.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('outbound messages', () => {
  const expected = { value: '25', metadata: { timestamp: t0 } };
  const stored = { expected, actual: null, optional: false, metadata: { type: 'float' }, expected_version: { cloud: 2, edge: 0 }, actual_version: null };
  const mqtt = { expected, actual: null, optional: false, metadata: { type: 'float' } };

  it('update/result carries the changed twins', () => {
    expect(updateResult(device, 'e1', t0, { temperature: mqtt, gone: null })).toEqual({ topic: `${base}/twin/update/result`, body: { event_id: 'e1', timestamp: t0, twin: { temperature: mqtt, gone: null } } });
  });

  it('update/result for an unknown device is 404 in KubeEdge`s words', () => {
    expect(updateNotFound(device, 'e1', t0).body).toEqual({ event_id: 'e1', timestamp: t0, code: 404, reason: 'update rejected due to the device is not existed' });
  });

  it('get/result for an unknown device is 404 naming it', () => {
    expect(getNotFound(device, 'g1', t0)).toEqual({ topic: `${base}/twin/get/result`, body: { event_id: 'g1', timestamp: t0, code: 404, reason: 'Device plant/thermostat not found while getting twin' } });
  });

  it('update/document strips the versions of last and current', () => {
    expect(documentNotice(device, 'd1', t0, { temperature: { last: null, current: stored } })).toEqual({ topic: `${base}/twin/update/document`, body: { event_id: 'd1', timestamp: t0, twin: { temperature: { last: null, current: mqtt } } } });
  });

  it('update/delta carries the twins and the unmet expectations', () => {
    expect(deltaNotice(device, 'x', t0, { temperature: mqtt }, { temperature: '25' }).body).toEqual({ event_id: 'x', timestamp: t0, twin: { temperature: mqtt }, delta: { temperature: '25' } });
  });

  it('state/update/result carries the device name, state and last online time', () => {
    expect(stateUpdateResult(device, 's1', t0, 'online', '2026-09-21T10:00:00Z')).toEqual({
      topic: `${base}/state/update/result`,
      body: { event_id: 's1', timestamp: t0, device: { name: 'thermostat', state: 'online', lastOnlineTime: '2026-09-21T10:00:00Z' } },
    });
  });

  it('membership messages list devices by <ns>/<name>', () => {
    const member = { namespace: 'plant', name: 'thermostat', description: 'hall', state: 'online', last_online: 'z' };
    expect(membershipGetResult('edge-1', 'm1', t0, [member])).toEqual({
      topic: '$hw/events/node/edge-1/membership/get/result',
      body: { event_id: 'm1', timestamp: t0, devices: [{ id: 'plant/thermostat', name: 'thermostat', description: 'hall', state: 'online', last_online: 'z', attributes: {} }] },
    });
    expect(membershipUpdated('edge-1', 'm2', t0, [], [member])).toEqual({
      topic: '$hw/events/node/edge-1/membership/updated',
      body: { event_id: 'm2', timestamp: t0, added_devices: [], removed_devices: [{ id: 'plant/thermostat', name: 'thermostat', description: 'hall' }] },
    });
  });
});

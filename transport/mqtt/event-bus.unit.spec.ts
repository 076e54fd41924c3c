// The EventBus' pure decisions: reading a payload, naming a topic's shape for logs, splitting a
// broker url, and the reconnect back-off. Method: examples at each edge, plus a fast-check
// property that reading arbitrary bytes never throws and agrees with the size limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_BUS_BACKOFF, checkPublishTopic, parseBrokerUrl, readInboundPayload, reconnectDelayMs, topicShape } from './event-bus.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('readInboundPayload', () => {
  it('reads JSON of any kind', () => {
    expect(readInboundPayload(bytes('{"twin":{"t":{"actual":{"value":"1"}}}}'), 100)).toEqual({ ok: true, value: { twin: { t: { actual: { value: '1' } } } } });
    expect(readInboundPayload(bytes('null'), 100)).toEqual({ ok: true, value: null });
    expect(readInboundPayload(bytes(' 42 '), 100)).toEqual({ ok: true, value: 42 });
  });

  it('checks the byte length before decoding: exactly the limit passes, one byte more is PayloadTooLarge even if not UTF-8', () => {
    expect(readInboundPayload(bytes(`"${'a'.repeat(8)}"`), 10).ok).toBe(true);
    expect(readInboundPayload(new Uint8Array(11).fill(0xff), 10)).toEqual({
      ok: false,
      error: { kind: 'PayloadTooLarge', bytes: 11, bytesMax: 10, reason: 'the payload of 11 bytes exceeds the limit of 10 bytes' },
    });
  });

  it('refuses invalid UTF-8 (a lone continuation byte, an overlong encoding, a surrogate) as PayloadMalformed', () => {
    for (const invalid of [[0x22, 0x80, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22]]) {
      expect(readInboundPayload(Uint8Array.from(invalid), 100)).toEqual({ ok: false, error: { kind: 'PayloadMalformed', reason: 'the payload is not valid UTF-8' } });
    }
  });

  it('refuses empty and truncated JSON with a short reason', () => {
    expect(readInboundPayload(new Uint8Array(0), 100)).toMatchObject({ ok: false, error: { kind: 'PayloadMalformed' } });
    const truncated = readInboundPayload(bytes(`{"k":"${'v'.repeat(5_000)}`), 10_000);
    expect(truncated).toMatchObject({ ok: false, error: { kind: 'PayloadMalformed' } });
    if (!truncated.ok) expect(truncated.error.reason.length).toBeLessThanOrEqual(201);
  });

  it('never throws on arbitrary bytes, and is PayloadTooLarge exactly when over the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 300 }), (payload, bytesMax) => {
        const read = readInboundPayload(payload, bytesMax);
        expect(!read.ok && read.error.kind === 'PayloadTooLarge').toBe(payload.length > bytesMax);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('topicShape', () => {
  it('hides device ids and node names so one kind of unserved topic is one log line', () => {
    expect(topicShape('$hw/events/device/default/thermo-1/twin/delete')).toBe('$hw/events/device/+/+/twin/delete');
    expect(topicShape('$hw/events/node/edge-1/membership/get/x')).toBe('$hw/events/node/+/membership/get/x');
    expect(topicShape('$hw/events/upload')).toBe('$hw/events/upload');
  });

  it('is bounded in length and total on odd level names', () => {
    expect(topicShape(`$hw/events/upload/${'x'.repeat(10_000)}`).length).toBeLessThanOrEqual(257);
    expect(topicShape('$hw/events/toString/a/b')).toBe('$hw/events/toString/a/b');
    expect(topicShape('$hw/events/__proto__/a')).toBe('$hw/events/__proto__/a');
  });
});

describe('parseBrokerUrl', () => {
  it('splits percent-decoded credentials from the address', () => {
    expect(parseBrokerUrl('mqtt://edge:p%40ss%3Aword@127.0.0.1:1883')).toEqual({ ok: true, value: { url: 'mqtt://127.0.0.1:1883', username: 'edge', password: 'p@ss:word' } });
    expect(parseBrokerUrl('mqtt://127.0.0.1:1884')).toEqual({ ok: true, value: { url: 'mqtt://127.0.0.1:1884' } });
    expect(parseBrokerUrl('mqtts://broker.example:8883')).toEqual({ ok: true, value: { url: 'mqtts://broker.example:8883' } });
  });

  it('refuses what is not an MQTT broker url', () => {
    expect(parseBrokerUrl('127.0.0.1:1883').ok).toBe(false);
    expect(parseBrokerUrl('http://127.0.0.1:1883')).toMatchObject({ ok: false, error: expect.stringContaining('http:') });
    expect(parseBrokerUrl('not a url').ok).toBe(false);
  });
});

describe('checkPublishTopic', () => {
  it('takes the edge’s answer topics', () => {
    expect(checkPublishTopic('$hw/events/device/default/thermo-1/twin/update/result')).toEqual({ ok: true, value: undefined });
    expect(checkPublishTopic('$hw/events/node/edge-1/membership/updated')).toEqual({ ok: true, value: undefined });
  });

  it('refuses what a broker would answer by closing the connection: empty, wildcards, NUL, too deep, too long', () => {
    for (const bad of ['', 'a/+', '#', 'a/#', 'a\u0000b', Array.from({ length: 101 }, () => 'l').join('/'), 'x'.repeat(65_536)]) {
      expect(checkPublishTopic(bad).ok, bad.slice(0, 20)).toBe(false);
    }
    expect(checkPublishTopic(Array.from({ length: 100 }, () => 'l').join('/')).ok).toBe(true);
  });

  it('refuses a lone surrogate, which would go out as a different topic', () => {
    expect(checkPublishTopic('a/\ud800').ok).toBe(false);
    expect(checkPublishTopic('a/😀').ok).toBe(true);
  });
});

describe('reconnectDelayMs', () => {
  it('starts at the minimum, doubles per failed attempt and stays at the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 1_000].map((attempt) => reconnectDelayMs(attempt))).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    expect(EVENT_BUS_BACKOFF.delayMsMax).toBe(5_000);
  });
});

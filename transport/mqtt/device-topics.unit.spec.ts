// KubeEdge's device topic tree, parsed and built. Method: one example per topic kind and per way a
// topic can be wrong, then fast-check properties: parsing never throws, and every topic the edge
// builds for a device parses back to that device.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceTopics, inboundFilters, parseDeviceTopic, type DeviceId } from './device-topics.js';

const thermo: DeviceId = { namespace: 'default', name: 'thermo-1' };

describe('parseDeviceTopic: the topics the edge serves', () => {
  it('reads a twin update with its <namespace>/<name> device id', () => {
    expect(parseDeviceTopic('$hw/events/device/default/thermo-1/twin/update')).toEqual({ ok: true, value: { kind: 'twinUpdate', device: thermo } });
  });

  it('reads a twin get', () => {
    expect(parseDeviceTopic('$hw/events/device/default/thermo-1/twin/get')).toEqual({ ok: true, value: { kind: 'twinGet', device: thermo } });
  });

  it('reads a state update', () => {
    expect(parseDeviceTopic('$hw/events/device/factory/press-2/state/update')).toEqual({
      ok: true,
      value: { kind: 'stateUpdate', device: { namespace: 'factory', name: 'press-2' } },
    });
  });

  it('reads a membership get with its node', () => {
    expect(parseDeviceTopic('$hw/events/node/edge-1/membership/get')).toEqual({ ok: true, value: { kind: 'membershipGet', node: 'edge-1' } });
  });

  it('reads any topic under $hw/events/upload/ as an upload, keeping the topic', () => {
    expect(parseDeviceTopic('$hw/events/upload/line-3/counter')).toEqual({ ok: true, value: { kind: 'upload', topic: '$hw/events/upload/line-3/counter' } });
    expect(parseDeviceTopic('$hw/events/upload/x')).toEqual({ ok: true, value: { kind: 'upload', topic: '$hw/events/upload/x' } });
  });
});

describe('parseDeviceTopic: topics it refuses', () => {
  const refused = (topic: string): void => {
    const parsed = parseDeviceTopic(topic);
    expect(parsed.ok, topic).toBe(false);
  };

  it('refuses operations KubeEdge clients may send that the edge does not serve (twin/delete, cloud_updated)', () => {
    refused('$hw/events/device/default/thermo-1/twin/delete');
    refused('$hw/events/device/default/thermo-1/twin/cloud_updated');
    refused('$hw/events/device/default/thermo-1/state/get');
  });

  it('refuses the pre-1.17 one-level device id and ids with extra levels', () => {
    refused('$hw/events/device/thermo-1/twin/update');
    refused('$hw/events/device/default/thermo-1/extra/twin/update');
  });

  it('refuses the edge’s own answer topics, which are deeper than the requests', () => {
    refused(deviceTopics.updateResult(thermo));
    refused(deviceTopics.delta(thermo));
    refused(deviceTopics.document(thermo));
    refused(deviceTopics.getResult(thermo));
    refused(deviceTopics.membershipGetResult('edge-1'));
  });

  it('refuses empty namespace, name or node levels', () => {
    refused('$hw/events/device//thermo-1/twin/update');
    refused('$hw/events/device/default//twin/update');
    refused('$hw/events/device///twin/update');
    refused('$hw/events/node//membership/get');
  });

  it('refuses the bare upload prefix, other trees and near misses', () => {
    refused('$hw/events/upload/');
    refused('$hw/events/upload');
    refused('$hw/events/node/edge-1/membership/detail');
    refused('$hw/events/node/edge-1/membership/get/extra');
    refused('hw/events/device/default/thermo-1/twin/update');
    refused('$hw/events/devices/default/thermo-1/twin/update');
    refused('');
  });

  it('says why, without echoing more than 256 characters of a huge topic', () => {
    const parsed = parseDeviceTopic(`$hw/events/other/${'x'.repeat(100_000)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toMatch(/is not one the edge serves/);
      expect(parsed.error.length).toBeLessThan(400);
    }
  });
});

describe('inboundFilters', () => {
  it('spells out the $hw levels (a leading + never matches a $ topic) and names only this node’s membership', () => {
    expect(inboundFilters('edge-1')).toEqual([
      '$hw/events/device/+/+/twin/+',
      '$hw/events/device/+/+/state/update',
      '$hw/events/node/edge-1/membership/get',
      '$hw/events/upload/#',
    ]);
  });
});

/** A topic level a device id may use: non-empty, no separator, no wildcard, no NUL (MQTT forbids them in topic names). */
const topicLevel = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !/[/+#\u0000]/.test(s));
const deviceId = fc.record({ namespace: topicLevel, name: topicLevel });

describe('properties', () => {
  it('parseDeviceTopic never throws on an arbitrary string and always answers ok or err', () => {
    const hwTopic = fc
      .array(fc.oneof(fc.constantFrom('$hw', 'events', 'device', 'node', 'upload', 'twin', 'update', 'get', 'state', 'membership', ''), fc.string()), { maxLength: 9 })
      .map((levels) => levels.join('/'));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), hwTopic), (topic) => {
        const parsed = parseDeviceTopic(topic);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2_000 },
    );
  });

  it('the request topics the edge builds for any valid device id parse back to that id and kind', () => {
    fc.assert(
      fc.property(deviceId, (device) => {
        expect(parseDeviceTopic(deviceTopics.twinUpdate(device))).toEqual({ ok: true, value: { kind: 'twinUpdate', device } });
        expect(parseDeviceTopic(deviceTopics.twinGet(device))).toEqual({ ok: true, value: { kind: 'twinGet', device } });
        expect(parseDeviceTopic(deviceTopics.stateUpdate(device))).toEqual({ ok: true, value: { kind: 'stateUpdate', device } });
        expect(parseDeviceTopic(deviceTopics.updateResult(device)).ok).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });

  it('membership get for any valid node name parses back to that node', () => {
    fc.assert(
      fc.property(topicLevel, (node) => {
        expect(parseDeviceTopic(deviceTopics.membershipGet(node))).toEqual({ ok: true, value: { kind: 'membershipGet', node } });
      }),
      { numRuns: 500 },
    );
  });
});

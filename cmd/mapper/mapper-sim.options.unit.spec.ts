// Method: flags are given as commander hands them over (strings); each bad flag must be refused
// with a message naming it, and URLs in messages never show a password.
import { describe, expect, it } from 'vitest';
import { parseDeviceRef, parseMapperSimFlags, redactUrl, type MapperSimFlags } from './mapper-sim.options.js';

const flags: MapperSimFlags = {
  mqttUrl: 'mqtt://127.0.0.1:1883',
  device: 'default/thermometer-1',
  intervalMs: '1000',
  property: 'temperature',
  targetProperty: 'target-temperature',
  initial: '18',
};

describe('parseMapperSimFlags', () => {
  it('when the flags are the defaults with a URL and a device, then the options carry numbers', () => {
    expect(parseMapperSimFlags(flags)).toEqual({
      ok: true,
      value: { mqttUrl: 'mqtt://127.0.0.1:1883', device: 'default/thermometer-1', intervalMs: 1000, property: 'temperature', targetProperty: 'target-temperature', initial: 18 },
    });
  });

  it('when the initial reading is negative and fractional, then it is taken', () => {
    const parsed = parseMapperSimFlags({ ...flags, initial: '-4.5' });
    expect(parsed.ok && parsed.value.initial).toBe(-4.5);
  });

  it.each([
    ['a device without a namespace', { device: 'thermometer-1' }, /--device/],
    ['a device with three levels', { device: 'default/a/b' }, /--device/],
    ['a device with an MQTT wildcard', { device: 'default/+' }, /--device/],
    ['an upper-case namespace', { device: 'Default/thermometer-1' }, /--device/],
    ['an HTTP URL', { mqttUrl: 'http://127.0.0.1:1883' }, /--mqtt-url/],
    ['no URL at all', { mqttUrl: '127.0.0.1:1883' }, /--mqtt-url/],
    ['an interval in seconds', { intervalMs: '1s' }, /--interval-ms/],
    ['a zero interval', { intervalMs: '0' }, /--interval-ms/],
    ['a fractional interval', { intervalMs: '2.5' }, /--interval-ms/],
    ['an initial reading that is a word', { initial: 'cold' }, /--initial/],
    ['an empty initial reading', { initial: ' ' }, /--initial/],
    ['a property with a space', { property: 'room temperature' }, /--property/],
    ['the same property twice', { targetProperty: 'temperature' }, /same twin/],
  ])('when given %s, then it is refused naming the flag', (_case, change, message) => {
    const parsed = parseMapperSimFlags({ ...flags, ...change });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it('when a refused URL carries a password, then the message does not show it', () => {
    const parsed = parseMapperSimFlags({ ...flags, mqttUrl: 'http://user:s3cret@127.0.0.1:1883' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).not.toContain('s3cret');
  });
});

describe('parseDeviceRef', () => {
  it('when given <namespace>/<name>, then both levels are read', () => {
    expect(parseDeviceRef('plant-3/line-a.sensor-7')).toEqual({ ok: true, value: { namespace: 'plant-3', name: 'line-a.sensor-7' } });
  });
});

describe('redactUrl', () => {
  it('when the URL carries user:pass, then the password is replaced and the user kept', () => {
    expect(redactUrl('mqtt://mapper:s3cret@127.0.0.1:1883')).toBe('mqtt://mapper:***@127.0.0.1:1883');
  });

  it('when the URL has no password, then it is unchanged', () => {
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
  });

  it('when the text is not a URL but looks like one with a password, then the password is still hidden', () => {
    expect(redactUrl('mqtt//x://u:p4ss@host')).not.toContain('p4ss');
  });
});

// The edge's MQTT flags: how --mqtt-url, --mqtt-port, --mqtt-username/--mqtt-password and --no-mqtt
// combine, and that a password never reaches a printed URL. Pure: no broker is started.
import { describe, expect, it } from 'vitest';
import { MQTT_PORT_DEFAULT, displayedMqttUrl, parseMqttSettings } from './edge.devices.js';

describe('the edge MQTT flags', () => {
  it('embed a broker on KubeEdge\'s port 1883 by default, anonymous', () => {
    expect(parseMqttSettings({})).toEqual({ ok: true, value: { kind: 'embedded', port: MQTT_PORT_DEFAULT } });
    expect(MQTT_PORT_DEFAULT).toBe(1883);
  });

  it('take --mqtt-port 0 for a free port and credentials given together', () => {
    expect(parseMqttSettings({ mqttPort: '0', mqttUsername: 'mapper', mqttPassword: 's3cret' })).toEqual({ ok: true, value: { kind: 'embedded', port: 0, credentials: { username: 'mapper', password: 's3cret' } } });
  });

  it('refuse a port that is not one, and a username without a password', () => {
    expect(parseMqttSettings({ mqttPort: '70000' })).toMatchObject({ ok: false, error: expect.stringContaining('--mqtt-port') });
    expect(parseMqttSettings({ mqttPort: 'x' })).toMatchObject({ ok: false });
    expect(parseMqttSettings({ mqttUsername: 'mapper' })).toMatchObject({ ok: false, error: expect.stringContaining('go together') });
  });

  it('use an external broker by URL, refusing embedded-broker flags beside it and other schemes', () => {
    expect(parseMqttSettings({ mqttUrl: 'mqtt://u:p@127.0.0.1:1883' })).toEqual({ ok: true, value: { kind: 'external', url: 'mqtt://u:p@127.0.0.1:1883' } });
    expect(parseMqttSettings({ mqttUrl: 'mqtt://127.0.0.1:1883', mqttPort: '0' })).toMatchObject({ ok: false, error: expect.stringContaining('in the URL') });
    expect(parseMqttSettings({ mqttUrl: 'http://127.0.0.1:1883' })).toMatchObject({ ok: false, error: expect.stringContaining('mqtt://') });
    expect(parseMqttSettings({ mqttUrl: 'not a url' })).toMatchObject({ ok: false });
    // Refused here, as the EventBus would read them, rather than failing after the pods started.
    expect(parseMqttSettings({ mqttUrl: 'mqtt://' })).toMatchObject({ ok: false, error: expect.stringContaining('no host') });
    expect(parseMqttSettings({ mqttUrl: 'mqtt://u:p%ZZ@127.0.0.1:1883' })).toMatchObject({ ok: false, error: expect.stringContaining('percent-encoding') });
  });

  it('turn the EventBus off with --no-mqtt, whatever else is given', () => {
    expect(parseMqttSettings({ mqtt: false, mqttUrl: 'mqtt://127.0.0.1:1' })).toEqual({ ok: true, value: { kind: 'off' } });
  });

  it('never print a password', () => {
    expect(displayedMqttUrl('mqtt://mapper:s3cret@127.0.0.1:1883')).toBe('mqtt://mapper:***@127.0.0.1:1883');
    expect(displayedMqttUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
  });
});

// The options of `edgehive mapper sim`, parsed and checked at the CLI boundary (pure): flags
// arrive as strings, and a bad one is an error value the command prints before exiting 2.
import { err, ok, type Result } from '../../kernel/index.js';
import type { DeviceId } from '../../transport/index.js';

/** What `edgehive mapper sim` runs with (`edgehive up` builds it in code). */
export interface MapperSimOptions {
  /** `--mqtt-url`, e.g. `mqtt://user:pass@127.0.0.1:1883`. */
  readonly mqttUrl: string;
  /** `--device <namespace>/<name>`. */
  readonly device: string;
  /** `--interval-ms` (default 1000): how often it reports. */
  readonly intervalMs: number;
  /** `--property` (default temperature): the reported reading. */
  readonly property: string;
  /** `--target-property` (default target-temperature): the desired setting it follows. */
  readonly targetProperty: string;
  /** `--initial` (default 18): the reading at start. */
  readonly initial: number;
}

/** The flags as commander hands them over. */
export interface MapperSimFlags {
  readonly mqttUrl: string;
  readonly device: string;
  readonly intervalMs: string;
  readonly property: string;
  readonly targetProperty: string;
  readonly initial: string;
}

export const INTERVAL_MS_MIN = 10;
export const INTERVAL_MS_MAX = 3_600_000;
/** Readings and targets stay within what a float twin shows exactly enough. */
export const READING_ABS_MAX = 1e9;

const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']);
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** KubeEdge's twin key rule (dtcommon: `^[a-zA-Z0-9-_.,:/@#]{1,128}$`). */
const PROPERTY = /^[a-zA-Z0-9\-_.,:/@#]{1,128}$/;

/** Reads the flags into options, or says which flag is wrong. */
export function parseMapperSimFlags(flags: MapperSimFlags): Result<MapperSimOptions, string> {
  const intervalMs = /^\d+$/.test(flags.intervalMs) ? Number(flags.intervalMs) : Number.NaN;
  if (!Number.isSafeInteger(intervalMs)) return err(`--interval-ms ${JSON.stringify(flags.intervalMs)} is not a whole number of milliseconds`);
  const initial = flags.initial.trim() === '' ? Number.NaN : Number(flags.initial);
  if (!Number.isFinite(initial)) return err(`--initial ${JSON.stringify(flags.initial)} is not a number`);
  const options: MapperSimOptions = { mqttUrl: flags.mqttUrl, device: flags.device, intervalMs, property: flags.property, targetProperty: flags.targetProperty, initial };
  const checked = checkMapperSimOptions(options);
  return checked.ok ? ok(options) : checked;
}

/** Checks options built in code or from flags; the device as topics name it, or what is wrong. */
export function checkMapperSimOptions(options: MapperSimOptions): Result<DeviceId, string> {
  const device = parseDeviceRef(options.device);
  if (!device.ok) return device;
  if (!isMqttUrl(options.mqttUrl)) return err(`--mqtt-url ${JSON.stringify(redactUrl(options.mqttUrl))} is not an MQTT URL (mqtt://host:port, mqtts://, ws://, wss://)`);
  if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < INTERVAL_MS_MIN || options.intervalMs > INTERVAL_MS_MAX) {
    return err(`--interval-ms must be a whole number from ${INTERVAL_MS_MIN} to ${INTERVAL_MS_MAX}`);
  }
  if (!Number.isFinite(options.initial) || Math.abs(options.initial) > READING_ABS_MAX) return err(`--initial must be a number within ±${READING_ABS_MAX}`);
  for (const [flag, property] of [['--property', options.property], ['--target-property', options.targetProperty]] as const) {
    if (!PROPERTY.test(property)) return err(`${flag} ${JSON.stringify(property)} is not a twin property name (1-128 of a-z A-Z 0-9 - _ . , : / @ #)`);
  }
  if (options.property === options.targetProperty) return err('--property and --target-property name the same twin; the reading and the setting it follows are two properties');
  return device;
}

/** `<namespace>/<name>` as KubeEdge ≥ 1.17 names a device in topics. */
export function parseDeviceRef(text: string): Result<DeviceId, string> {
  const [namespace = '', name = '', ...rest] = text.split('/');
  if (rest.length > 0 || !NAMESPACE.test(namespace) || !NAME.test(name)) {
    return err(`--device ${JSON.stringify(text.slice(0, 300))} is not <namespace>/<name> (a DNS label, a DNS subdomain), e.g. default/thermometer-1`);
  }
  return ok({ namespace, name });
}

/** The URL with its password replaced, for messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return text.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
}

function isMqttUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return MQTT_PROTOCOLS.has(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

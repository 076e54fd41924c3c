// KubeEdge's MQTT topic tree for devices (kubeedge-reference.md §5.3): which topics the edge's
// EventBus listens on, what an inbound topic names, and where each answer goes. A device id in a
// topic is `<namespace>/<name>`: two topic levels, as KubeEdge >= 1.17 has it.
import { err, ok, type JsonValue, type Result } from '../../kernel/index.js';

const DEVICE_PREFIX = '$hw/events/device/';
const NODE_PREFIX = '$hw/events/node/';
const UPLOAD_PREFIX = '$hw/events/upload/';

/** A device as topics name it. */
export interface DeviceId {
  readonly namespace: string;
  readonly name: string;
}

/** What an inbound topic asks of the edge. */
export type DeviceTopic =
  /** `$hw/events/device/<ns>/<name>/twin/update`: a mapper or app reports actual values. */
  | { readonly kind: 'twinUpdate'; readonly device: DeviceId }
  /** `$hw/events/device/<ns>/<name>/twin/get`: an app asks for the twin. */
  | { readonly kind: 'twinGet'; readonly device: DeviceId }
  /** `$hw/events/device/<ns>/<name>/state/update`: a mapper reports the device's state. */
  | { readonly kind: 'stateUpdate'; readonly device: DeviceId }
  /** `$hw/events/node/<node>/membership/get`: a mapper asks which devices the node has. */
  | { readonly kind: 'membershipGet'; readonly node: string }
  /** `$hw/events/upload/…`: data an edge app sends to the cloud. */
  | { readonly kind: 'upload'; readonly topic: string };

/**
 * The filters the EventBus subscribes to (QoS 1). `+` never matches a `$`-level, so these are
 * spelled out; the result topics are deeper than `twin/+` and never come back to the bus.
 */
export function inboundFilters(nodeName: string): readonly string[] {
  return [`${DEVICE_PREFIX}+/+/twin/+`, `${DEVICE_PREFIX}+/+/state/update`, `${NODE_PREFIX}${nodeName}/membership/get`, `${UPLOAD_PREFIX}#`];
}

/** What `topic` asks, or why the edge does not take it (a topic outside the tree it serves). */
export function parseDeviceTopic(topic: string): Result<DeviceTopic, string> {
  if (topic.startsWith(UPLOAD_PREFIX) && topic.length > UPLOAD_PREFIX.length) return ok({ kind: 'upload', topic });
  const levels = topic.split('/');
  if (topic.startsWith(NODE_PREFIX) && levels.length === 6 && levels[4] === 'membership' && levels[5] === 'get' && levels[3] !== '') {
    return ok({ kind: 'membershipGet', node: levels[3]! });
  }
  if (!topic.startsWith(DEVICE_PREFIX) || levels.length !== 7) return err(`topic ${JSON.stringify(topic.slice(0, 256))} is not one the edge serves`);
  const [, , , namespace = '', name = '', group = '', operation = ''] = levels;
  if (namespace === '' || name === '') return err('a device topic names <namespace>/<name>');
  const device = { namespace, name };
  if (group === 'twin' && operation === 'update') return ok({ kind: 'twinUpdate', device });
  if (group === 'twin' && operation === 'get') return ok({ kind: 'twinGet', device });
  if (group === 'state' && operation === 'update') return ok({ kind: 'stateUpdate', device });
  return err(`topic ${JSON.stringify(topic.slice(0, 256))} is not one the edge serves`);
}

const deviceBase = (device: DeviceId): string => `${DEVICE_PREFIX}${device.namespace}/${device.name}`;

/** Where the edge publishes. */
export const deviceTopics = {
  twinUpdate: (device: DeviceId): string => `${deviceBase(device)}/twin/update`,
  twinGet: (device: DeviceId): string => `${deviceBase(device)}/twin/get`,
  stateUpdate: (device: DeviceId): string => `${deviceBase(device)}/state/update`,
  updateResult: (device: DeviceId): string => `${deviceBase(device)}/twin/update/result`,
  delta: (device: DeviceId): string => `${deviceBase(device)}/twin/update/delta`,
  document: (device: DeviceId): string => `${deviceBase(device)}/twin/update/document`,
  getResult: (device: DeviceId): string => `${deviceBase(device)}/twin/get/result`,
  stateUpdateResult: (device: DeviceId): string => `${deviceBase(device)}/state/update/result`,
  /** The device's attributes changed (`{event_id, timestamp, attributes}`). */
  updated: (device: DeviceId): string => `${deviceBase(device)}/updated`,
  membershipGet: (node: string): string => `${NODE_PREFIX}${node}/membership/get`,
  membershipGetResult: (node: string): string => `${NODE_PREFIX}${node}/membership/get/result`,
  membershipUpdated: (node: string): string => `${NODE_PREFIX}${node}/membership/updated`,
} as const;

/** Why an inbound payload could not be read; the twin host answers on the result topic with it. */
export type PayloadProblem =
  | { readonly kind: 'PayloadTooLarge'; readonly bytes: number; readonly bytesMax: number; readonly reason: string }
  | { readonly kind: 'PayloadMalformed'; readonly reason: string };

/** An MQTT message the EventBus received on one of its filters: the parsed topic and the payload as JSON, or why not. */
export interface InboundDeviceMessage {
  readonly topic: DeviceTopic;
  /** The raw topic string, for logs and results. */
  readonly rawTopic: string;
  readonly payload: Result<JsonValue, PayloadProblem>;
  /** The payload's bytes, on uploads only (the Router forwards them as they came) and only within the bus's payload limit. */
  readonly bytes?: Uint8Array;
}

/** Largest payload the EventBus reads by default (KubeEdge caps values at 512 characters; a twin message of many properties fits easily). */
export const MQTT_PAYLOAD_BYTES_MAX_DEFAULT = 64 * 1024;

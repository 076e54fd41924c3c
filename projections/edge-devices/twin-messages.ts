// KubeEdge's MQTT twin messages at the edge (kubeedge-reference.md §5.3–5.4, appendix rules
// 39–50): inbound payloads decoded into twin requests (or the 400 answer they deserve), and the
// JSON of every answer and notice the edge publishes. Versions never appear in MQTT payloads.
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import { twinForMqtt, type TwinCommand, type TwinState } from '../../actors/index.js';
import { deviceTopics, type DeviceId, type InboundDeviceMessage, type PayloadProblem } from '../../transport/index.js';

/** A property of an MQTT `…/twin/update`: actual (and, to be refused, expected), optional, type; null deletes it. */
export type EdgeTwinMessage = Extract<TwinCommand, { type: 'UpdateTwinFromEdge' }>['data']['twin'][string];
/** A property as MQTT shows it: expected, actual, optional, metadata, no versions. */
export type MqttTwin = ReturnType<typeof twinForMqtt>[string];
type PresentTwin = Extract<TwinState, { readonly status: 'synced' | 'drifted' }>;
/** A property as the twin actor stores it (with versions). */
export type StoredTwin = PresentTwin['twin'][string];

/** Properties one update may carry; more is a 400 (the payload size bounds it too). */
export const TWIN_UPDATE_KEYS_MAX = 1024;

/** What an inbound MQTT message asks of the twins. */
export type TwinRequest =
  | { readonly kind: 'twinUpdate'; readonly device: DeviceId; readonly event_id: string; readonly twin: { readonly [key: string]: EdgeTwinMessage } }
  | { readonly kind: 'twinGet'; readonly device: DeviceId; readonly event_id: string }
  | { readonly kind: 'stateUpdate'; readonly device: DeviceId; readonly event_id: string; readonly state: string }
  | { readonly kind: 'membershipGet'; readonly node: string; readonly event_id: string };

/** Why a message is not a twin request: a bad one is answered with 400 on `answerTopic`; an upload is not the twins' business. */
export type TwinRequestProblem =
  | { readonly kind: 'BadRequest'; readonly answerTopic: string; readonly event_id: string; readonly code: 400; readonly reason: string }
  | { readonly kind: 'NotForTwins'; readonly reason: string };

/** An MQTT message to publish: its topic and JSON body. */
export interface Outbound {
  readonly topic: string;
  readonly body: JsonValue;
}

const payloadReason = (problem: PayloadProblem): string =>
  problem.kind === 'PayloadTooLarge' ? `the payload of ${problem.bytes} bytes is larger than the ${problem.bytesMax} bytes allowed` : `the payload is not valid JSON: ${problem.reason}`;

/** Where a bad message of this topic is answered. */
function answerTopicOf(topic: InboundDeviceMessage['topic']): string | undefined {
  switch (topic.kind) {
    case 'twinUpdate':
      return deviceTopics.updateResult(topic.device);
    case 'twinGet':
      return deviceTopics.getResult(topic.device);
    case 'stateUpdate':
      return deviceTopics.stateUpdateResult(topic.device);
    case 'membershipGet':
      return deviceTopics.membershipGetResult(topic.node);
    case 'upload':
      return undefined;
  }
}

/**
 * Decodes one inbound message. Never throws: any payload yields a request or a 400 answer.
 * @example decodeTwinRequest({ topic: { kind: 'twinGet', device }, rawTopic, payload: ok({ event_id: 'e1' }) })
 *   // ok({ kind: 'twinGet', device, event_id: 'e1' })
 */
export function decodeTwinRequest(message: InboundDeviceMessage): Result<TwinRequest, TwinRequestProblem> {
  const { topic } = message;
  const answerTopic = answerTopicOf(topic);
  if (answerTopic === undefined || topic.kind === 'upload') return err({ kind: 'NotForTwins', reason: `${message.rawTopic.slice(0, 256)} is an upload, not a twin message` });
  const bad = (reason: string, event_id = ''): Result<never, TwinRequestProblem> => err({ kind: 'BadRequest', answerTopic, event_id, code: 400, reason });
  if (!message.payload.ok) return bad(payloadReason(message.payload.error));
  const payload = message.payload.value;
  if (!isJsonObject(payload)) return bad('the payload must be a JSON object');
  const event_id = typeof payload['event_id'] === 'string' ? payload['event_id'] : '';
  if (payload['event_id'] !== undefined && typeof payload['event_id'] !== 'string') return bad('event_id must be a string');
  switch (topic.kind) {
    case 'twinGet':
      return ok({ kind: 'twinGet', device: topic.device, event_id });
    case 'membershipGet':
      return ok({ kind: 'membershipGet', node: topic.node, event_id });
    case 'stateUpdate': {
      const state = payload['state'];
      return typeof state === 'string' ? ok({ kind: 'stateUpdate', device: topic.device, event_id, state }) : bad('state must be a string', event_id);
    }
    case 'twinUpdate': {
      const twin = decodeTwinMap(payload['twin']);
      return twin.ok ? ok({ kind: 'twinUpdate', device: topic.device, event_id, twin: twin.value }) : bad(twin.error, event_id);
    }
  }
}

function decodeTwinMap(twin: unknown): Result<{ readonly [key: string]: EdgeTwinMessage }, string> {
  if (twin === undefined) return err('the update has no twin');
  if (!isJsonObject(twin)) return err('twin must be an object');
  const entries = Object.entries(twin);
  if (entries.length > TWIN_UPDATE_KEYS_MAX) return err(`the update has ${entries.length} properties, more than the ${TWIN_UPDATE_KEYS_MAX} allowed`);
  const decoded: [string, EdgeTwinMessage][] = [];
  for (const [key, value] of entries) {
    const property = decodeEdgeTwin(key, value);
    if (!property.ok) return property;
    decoded.push([key, property.value]);
  }
  // fromEntries defines own properties, so a `__proto__` key stays a key (the decider refuses it).
  return ok(Object.fromEntries(decoded));
}

/** One property of an update, in KubeEdge's MsgTwin shape; values are strings. */
function decodeEdgeTwin(key: string, value: unknown): Result<EdgeTwinMessage, string> {
  if (value === null) return ok(null);
  if (!isJsonObject(value)) return err(`twin ${key} must be an object or null`);
  const actual = decodeTwinValue(value['actual'], `twin ${key} actual`);
  if (!actual.ok) return actual;
  const optional = value['optional'];
  if (optional !== undefined && typeof optional !== 'boolean') return err(`twin ${key} optional must be a boolean`);
  const metadata = value['metadata'];
  if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) return err(`twin ${key} metadata must be an object`);
  const type = isJsonObject(metadata) ? metadata['type'] : undefined;
  if (type !== undefined && typeof type !== 'string') return err(`twin ${key} metadata.type must be a string`);
  const message: { actual?: { value: string }; expected?: { value: string } | null; optional?: boolean; metadata?: { type?: string } } = {};
  if (actual.value !== undefined) message.actual = actual.value;
  // Expected is kept only so the decider can refuse it: the cloud owns it.
  if (value['expected'] !== undefined) {
    const expected = decodeTwinValue(value['expected'], `twin ${key} expected`);
    message.expected = expected.ok && expected.value !== undefined ? expected.value : null;
  }
  if (optional !== undefined) message.optional = optional;
  if (type !== undefined) message.metadata = { type };
  return ok(message);
}

/** `{value: "…", metadata?}` → the value; absent or null → undefined. */
function decodeTwinValue(value: unknown, what: string): Result<{ readonly value: string } | undefined, string> {
  if (value === undefined || value === null) return ok(undefined);
  if (!isJsonObject(value)) return err(`${what} must be an object`);
  const v = value['value'];
  return typeof v === 'string' ? ok({ value: v }) : err(`${what} value must be a string`);
}

/** `…/twin/update/result` (or any result topic) carrying an error: `{event_id, timestamp, code, reason}`. */
export const errorResult = (topic: string, event_id: string, timestamp: number, code: number, reason: string): Outbound => ({ topic, body: { event_id, timestamp, code, reason } });

/** `…/twin/update/result` of an accepted update: the changed properties (null for a deleted one). */
export const updateResult = (device: DeviceId, event_id: string, timestamp: number, twin: { readonly [key: string]: MqttTwin | null }): Outbound => ({
  topic: deviceTopics.updateResult(device),
  body: { event_id, timestamp, twin: twin as JsonValue },
});

/** A stored property without its versions. */
export const withoutVersions = (t: StoredTwin): MqttTwin => ({ expected: t.expected, actual: t.actual, optional: t.optional, metadata: t.metadata });

/** `…/twin/update/document`: last and current of each changed property (null when absent or deleted). */
export function documentNotice(device: DeviceId, event_id: string, timestamp: number, twin: { readonly [key: string]: { readonly last: StoredTwin | null; readonly current: StoredTwin | null } }): Outbound {
  const stripped = Object.fromEntries(Object.entries(twin).map(([k, { last, current }]) => [k, { last: last === null ? null : withoutVersions(last), current: current === null ? null : withoutVersions(current) }]));
  return { topic: deviceTopics.document(device), body: { event_id, timestamp, twin: stripped as JsonValue } };
}

/** `…/twin/update/delta`: every property with an expectation, and the unmet expected values. */
export const deltaNotice = (device: DeviceId, event_id: string, timestamp: number, twin: { readonly [key: string]: MqttTwin }, delta: { readonly [key: string]: string }): Outbound => ({
  topic: deviceTopics.delta(device),
  body: { event_id, timestamp, twin: twin as JsonValue, delta },
});

/** `…/twin/get/result`: the live properties, no versions. */
export const getResult = (device: DeviceId, event_id: string, timestamp: number, twin: { readonly [key: string]: MqttTwin }): Outbound => ({
  topic: deviceTopics.getResult(device),
  body: { event_id, timestamp, twin: twin as JsonValue },
});

/** `…/twin/get/result` for a device this node does not have (rule 39). */
export const getNotFound = (device: DeviceId, event_id: string, timestamp: number): Outbound =>
  errorResult(deviceTopics.getResult(device), event_id, timestamp, 404, `Device ${device.namespace}/${device.name} not found while getting twin`);

/** `…/twin/update/result` for a device this node does not have (rule 39). */
export const updateNotFound = (device: DeviceId, event_id: string, timestamp: number): Outbound =>
  errorResult(deviceTopics.updateResult(device), event_id, timestamp, 404, 'update rejected due to the device is not existed');

/** `…/state/update/result`: the device's state after the update. */
export const stateUpdateResult = (device: DeviceId, event_id: string, timestamp: number, state: string, lastOnlineTime: string): Outbound => ({
  topic: deviceTopics.stateUpdateResult(device),
  body: { event_id, timestamp, device: { name: device.name, state, lastOnlineTime } },
});

/** A device as membership messages list it. */
export interface MemberDevice {
  readonly namespace: string;
  readonly name: string;
  readonly description: string;
  readonly state: string;
  readonly last_online: string;
}

const memberId = (d: MemberDevice): string => `${d.namespace}/${d.name}`;

/** `…/membership/get/result`: every device of the node. v1beta1 Devices have no attributes. */
export const membershipGetResult = (node: string, event_id: string, timestamp: number, devices: readonly MemberDevice[]): Outbound => ({
  topic: deviceTopics.membershipGetResult(node),
  body: { event_id, timestamp, devices: devices.map((d) => ({ id: memberId(d), name: d.name, description: d.description, state: d.state, last_online: d.last_online, attributes: {} })) },
});

/** `…/membership/updated`: devices added to and removed from the node. */
export const membershipUpdated = (node: string, event_id: string, timestamp: number, added: readonly MemberDevice[], removed: readonly MemberDevice[]): Outbound => {
  const brief = (d: MemberDevice) => ({ id: memberId(d), name: d.name, description: d.description });
  return { topic: deviceTopics.membershipUpdated(node), body: { event_id, timestamp, added_devices: added.map(brief), removed_devices: removed.map(brief) } };
};

// KubeEdge's Router over the EventBus (kubeedge-reference §5.3, §6), the parts both sides share:
// an edge app's message on `$hw/events/upload/…` as the up event the edge journals and sends, the
// cloud Router's publish on an edge's broker as a query, and the edge's answer to that query.
// Payloads are bytes: they travel as UTF-8 text when they are valid UTF-8, else as base64 with a flag.
import { err, invariant, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { Groups, Modules } from '../frames/frame.js';
import { isEventBusTopic, isUploadTopic } from '../frames/resource.js';
import type { QueryRequest, QueryResponder } from '../stream/requests.js';
import type { UpEvent } from '../sync/index.js';
import { MQTT_PAYLOAD_BYTES_MAX_DEFAULT } from './device-topics.js';

/** The up event an edge app's upload becomes. */
export const EVENT_BUS_UPLOADED = 'EventBusUploaded.v1';

/**
 * Largest message the Router carries either way. KubeEdge allows 12 MiB; the stream's frames are
 * 4 MiB and base64 grows a payload by a third, so edgehive keeps to the EventBus's own read limit.
 */
export const ROUTER_PAYLOAD_BYTES_MAX = MQTT_PAYLOAD_BYTES_MAX_DEFAULT;

/** A payload as JSON: the text itself, or base64 when the bytes are not UTF-8. */
export interface EncodedPayload {
  readonly payload: string;
  readonly payloadEncoding?: 'base64';
}

/** An upload as the cloud reads it from the event. */
export interface Upload {
  readonly topic: string;
  readonly payload: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The payload as text when it is UTF-8 (what apps mostly send), else base64 with the flag. */
export function encodePayload(bytes: Uint8Array): EncodedPayload {
  try {
    return { payload: utf8.decode(bytes) };
  } catch {
    return { payload: Buffer.from(bytes).toString('base64'), payloadEncoding: 'base64' };
  }
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes an encoded payload carries, or why not; at most `bytesMax` of them. */
export function decodePayload(value: JsonValue, bytesMax: number): Result<Buffer, string> {
  if (!isJsonObject(value) || typeof value['payload'] !== 'string') return err('the payload is not a string');
  const text = value['payload'];
  const encoding = value['payloadEncoding'];
  if (encoding !== undefined && encoding !== 'base64') return err('payloadEncoding is base64 or absent');
  if (encoding === 'base64' && (text.length % 4 !== 0 || !base64Pattern.test(text))) return err('the payload is not base64');
  const bytes = encoding === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (bytes.length > bytesMax) return err(`the payload of ${bytes.length} bytes exceeds the limit of ${bytesMax} bytes`);
  return ok(bytes);
}

/**
 * The up event of a message an edge app published on `$hw/events/upload/…`. Its `resource` is the
 * topic, so the default up route sends it as KubeEdge's EventBus does (operation `upload`).
 * @example
 * const event = uploadEventOf('$hw/events/upload/temperature', Buffer.from('21.5'));
 * if (event.ok) await hub.report([event.value]);
 */
export function uploadEventOf(topic: string, bytes: Uint8Array, bytesMax = ROUTER_PAYLOAD_BYTES_MAX): Result<UpEvent, string> {
  if (!isUploadTopic(topic)) return err('an upload topic starts with $hw/events/upload/');
  if (!isEventBusTopic(topic)) return err('the topic is too long for the stream (512 characters) or holds control characters');
  if (bytes.length > bytesMax) return err(`the payload of ${bytes.length} bytes exceeds the limit of ${bytesMax} bytes`);
  const data: JsonObject = { resource: topic, topic, ...encodePayload(bytes) };
  return ok({ type: EVENT_BUS_UPLOADED, data });
}

/** The upload an `EventBusUploaded.v1` event carries, or why it is malformed. */
export function readUpload(data: JsonValue, bytesMax = ROUTER_PAYLOAD_BYTES_MAX): Result<Upload, string> {
  if (!isJsonObject(data)) return err('the upload is not an object');
  const topic = data['topic'];
  if (typeof topic !== 'string' || !isUploadTopic(topic) || !isEventBusTopic(topic)) return err('the upload names no $hw/events/upload/ topic');
  const payload = decodePayload(data, bytesMax);
  return payload.ok ? ok({ topic, payload: payload.value }) : payload;
}

/**
 * The query the cloud Router sends to publish `payload` on `topic` at an edge (KubeEdge's
 * EventBus target: source router_eventbus, group user, the topic as the resource).
 */
export function eventBusPublishRequest(topic: string, payload: Uint8Array, bytesMax = ROUTER_PAYLOAD_BYTES_MAX): Result<QueryRequest, string> {
  if (!isEventBusTopic(topic)) return err(`topic ${JSON.stringify(topic.slice(0, 64))} is not one the EventBus publishes on (1-512 characters, no wildcards or control characters)`);
  if (payload.length > bytesMax) return err(`the payload of ${payload.length} bytes exceeds the limit of ${bytesMax} bytes`);
  const content: JsonObject = { ...encodePayload(payload) };
  return ok({ source: Modules.routerEventBus, group: Groups.user, resource: { kind: 'eventBus', topic }, content });
}

/** Publishes on the edge's broker; err when the bus is off, closed or refuses the topic. */
export type EventBusPublish = (topic: string, payload: Buffer) => Promise<Result<void, string>>;

/**
 * An EdgeHub `respond` that publishes the Router's EventBus queries on the edge's broker and hands
 * every other query to `otherwise` (the service bus, say). The answer is `{ published: true }`
 * once the broker acknowledged (QoS 1).
 * @example
 * respond: eventBusResponder((topic, payload) => devices.publish(topic, payload), serviceBusResponder({}))
 */
export function eventBusResponder(publish: EventBusPublish, otherwise: QueryResponder, bytesMax = ROUTER_PAYLOAD_BYTES_MAX): QueryResponder {
  invariant(Number.isSafeInteger(bytesMax) && bytesMax > 0, 'the payload limit is a positive byte count');
  return async (query) => {
    if (query.target.kind !== 'eventBus') return otherwise(query);
    if (query.route.source !== Modules.routerEventBus) return err(`edge publishes EventBus messages from ${Modules.routerEventBus} only`);
    const payload = decodePayload(query.content, bytesMax);
    if (!payload.ok) return err(`not published: ${payload.error}`);
    const published = await publish(query.target.topic, payload.value);
    return published.ok ? ok({ published: true }) : err(`not published on ${query.target.topic}: ${published.error}`);
  };
}

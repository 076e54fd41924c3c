// The mapper's side of KubeEdge's twin JSON (kubeedge-reference.md §5.3–5.4), pure: what it
// publishes, and what it reads from the edge's answers; a payload it cannot read is a value, never a throw.
import { err, isJsonObject, ok, type JsonObject, type Result } from '../../kernel/index.js';

/** The device states the mapper reports (KubeEdge accepts online, offline, ok, unknown, unhealthy). */
export type MapperDeviceState = 'online' | 'offline';

/** The twin type the simulated thermometer's values carry. */
export const SIM_VALUE_TYPE = 'float';

/** Which answer topic a payload came on. */
export type EdgeAnswerKind = 'delta' | 'getResult' | 'updateResult';

/** What an answer from the edge says, as far as the mapper cares. */
export type EdgeAnswer =
  /** The edge holds `expected` for the target (and `actual`, when it said). */
  | { readonly kind: 'expectedTarget'; readonly expected: string; readonly actual: string | undefined }
  /** The answer names no expected value for the target. */
  | { readonly kind: 'noTarget' }
  /** An update or get the edge refused, with KubeEdge's code and reason. */
  | { readonly kind: 'refused'; readonly answerTo: 'update' | 'get'; readonly code: string; readonly reason: string }
  /** An update the edge took. */
  | { readonly kind: 'accepted' };

/** `{event_id, timestamp, twin:{<prop>:{actual:{value}, metadata:{type}}}}`: the device's actual values. */
export function twinUpdateMessage(eventId: string, timestampMs: number, actuals: Readonly<Record<string, string>>): JsonObject {
  const twin: Record<string, JsonObject> = {};
  for (const [property, value] of Object.entries(actuals)) twin[property] = { actual: { value }, metadata: { type: SIM_VALUE_TYPE } };
  return { event_id: eventId, timestamp: timestampMs, twin };
}

/** `{event_id, timestamp}`: asks the edge for the twin (answered on `…/twin/get/result`). */
export const twinGetMessage = (eventId: string, timestampMs: number): JsonObject => ({ event_id: eventId, timestamp: timestampMs });

/** `{event_id, timestamp, state}`: the device's state. */
export const stateUpdateMessage = (eventId: string, timestampMs: number, state: MapperDeviceState): JsonObject => ({ event_id: eventId, timestamp: timestampMs, state });

/** Reads an answer from the edge; anything unreadable is an error value saying why. */
export function parseEdgeAnswer(kind: EdgeAnswerKind, payload: Uint8Array, targetProperty: string, payloadBytesMax: number): Result<EdgeAnswer, string> {
  if (payload.byteLength > payloadBytesMax) return err(`payload of ${payload.byteLength} bytes exceeds ${payloadBytesMax}`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return err('payload is not JSON');
  }
  if (!isJsonObject(body)) return err('payload is not a JSON object');
  switch (kind) {
    case 'delta':
      return readDelta(body, targetProperty);
    case 'getResult':
      return 'code' in body ? readRefusal(body, 'get') : readGetResult(body, targetProperty);
    case 'updateResult':
      return 'code' in body ? readRefusal(body, 'update') : ok({ kind: 'accepted' });
  }
}

/** `{delta:{<prop>:"<expected>"}, twin:{<prop>:{actual:{value}}}}`: the target is in `delta` only while it differs. */
function readDelta(body: Record<string, unknown>, targetProperty: string): Result<EdgeAnswer, string> {
  const delta = body['delta'];
  if (!isJsonObject(delta)) return err('a delta carries a "delta" object');
  if (!Object.hasOwn(delta, targetProperty)) return ok({ kind: 'noTarget' });
  const expected = delta[targetProperty];
  if (typeof expected !== 'string') return err(`delta.${targetProperty} is not a string`);
  return ok({ kind: 'expectedTarget', expected, actual: twinValue(body['twin'], targetProperty, 'actual') });
}

/** `{twin:{<prop>:{expected:{value}, actual:{value}}}}`. */
function readGetResult(body: Record<string, unknown>, targetProperty: string): Result<EdgeAnswer, string> {
  if (!isJsonObject(body['twin'])) return err('a get result carries a "twin" object');
  const expected = twinValue(body['twin'], targetProperty, 'expected');
  if (expected === undefined) return ok({ kind: 'noTarget' });
  return ok({ kind: 'expectedTarget', expected, actual: twinValue(body['twin'], targetProperty, 'actual') });
}

/** `{code, reason}`: KubeEdge's error answer (code is a number; a string is read as given). */
function readRefusal(body: Record<string, unknown>, answerTo: 'update' | 'get'): Result<EdgeAnswer, string> {
  const { code, reason } = body;
  if (typeof code !== 'number' && typeof code !== 'string') return err('"code" is neither a number nor a string');
  return ok({ kind: 'refused', answerTo, code: String(code), reason: typeof reason === 'string' ? reason : '' });
}

/** `twin[property][side].value` when it is a string. */
function twinValue(twin: unknown, property: string, side: 'expected' | 'actual'): string | undefined {
  if (!isJsonObject(twin) || !Object.hasOwn(twin, property)) return undefined;
  const entry = twin[property];
  if (!isJsonObject(entry)) return undefined;
  const sideValue = entry[side];
  if (!isJsonObject(sideValue)) return undefined;
  const value = sideValue['value'];
  return typeof value === 'string' ? value : undefined;
}

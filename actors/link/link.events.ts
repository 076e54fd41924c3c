// Node link events: the facts of an edge node's stream as the cloud saw them — linked (by which
// cloud process, resumed or fully resynced), unlinked (with the close code and reason), and the
// node's decommissioning — and how recorded ones are read back.
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { EventDecodeError } from '../host/actor-kind.js';

/** Everything the cloud journals about a node's link. `at` is this cloud's wall time, ISO 8601. */
export type LinkEvent =
  | { readonly type: 'EdgeLinked.v1'; readonly data: { readonly at: string; readonly mode: 'resume' | 'full'; readonly process: string } }
  | { readonly type: 'EdgeUnlinked.v1'; readonly data: { readonly at: string; readonly code: number; readonly reason: string; readonly byCloud: boolean } }
  | { readonly type: 'EdgeDecommissioned.v1'; readonly data: { readonly at: string } }
  | { readonly type: 'EdgeRecommissioned.v1'; readonly data: { readonly at: string } };

export type LinkEventType = LinkEvent['type'];

type Check = (data: Record<string, unknown>) => string | undefined;
const field = (name: string, type: 'string' | 'number' | 'boolean'): Check => (data) => (typeof data[name] === type ? undefined : `data.${name} must be a ${type}`);
const all = (...checks: Check[]): Check => (data) => checks.map((check) => check(data)).find((problem) => problem !== undefined);

const dataChecks: Readonly<Record<LinkEventType, Check>> = {
  'EdgeLinked.v1': all(field('at', 'string'), field('process', 'string'), (d) => (d['mode'] === 'resume' || d['mode'] === 'full' ? undefined : 'data.mode must be resume or full')),
  'EdgeUnlinked.v1': all(field('at', 'string'), field('code', 'number'), field('reason', 'string'), field('byCloud', 'boolean')),
  'EdgeDecommissioned.v1': field('at', 'string'),
  'EdgeRecommissioned.v1': field('at', 'string'),
};

const isLinkEventType = (type: string): type is LinkEventType => Object.hasOwn(dataChecks, type);

/** Reads a recorded link event back. */
export function decodeLinkEvent(type: string, data: JsonValue): Result<LinkEvent, EventDecodeError> {
  if (!isLinkEventType(type)) return err({ kind: 'UnknownEventType', type, detail: 'not a node link event' });
  if (!isJsonObject(data)) return err({ kind: 'MalformedEventData', type, detail: 'data must be an object' });
  const problem = dataChecks[type](data);
  if (problem !== undefined) return err({ kind: 'MalformedEventData', type, detail: problem });
  // The checks above are exactly the event's type, so this narrowing is sound.
  return ok({ type, data } as LinkEvent);
}

// "Made so by": which journaled event left an actor in the state replay rebuilt, and which came
// next, as one-line facts for people and as fields for `--json`. Pure; secrets are redacted here.
import type { RecordedEvent } from '../../journal/index.js';
import { assertNever } from '../../kernel/index.js';
import { redactSecrets } from './redact.js';

/** One event, as replay explains it: when, what, a one-line summary of its data, and who caused it. */
export interface EventFact {
  readonly version: number;
  readonly position: string;
  readonly at: string;
  readonly type: string;
  readonly summary: string;
  readonly origin: string;
  readonly causationId: string | null;
  readonly correlationId: string | null;
}

/** A summary longer than this is cut with `…`, so a line stays a line. */
export const summaryCharsMax = 160;
const valueCharsMax = 40;

/** The facts of one recorded event, with its data summarised (and redacted). */
export function eventFact(event: RecordedEvent): EventFact {
  return {
    version: event.version,
    position: String(event.position),
    at: event.meta.at,
    type: event.type,
    summary: summarizeEvent(event.type, event.data),
    origin: event.meta.origin,
    causationId: event.meta.causationId ?? null,
    correlationId: event.meta.correlationId ?? null,
  };
}

/**
 * One line on what an event's data says. Twin events name each property's expected/actual value;
 * other events list their fields (`at` left out: the line already has the time).
 * @example summarizeEvent('TwinExpectedSynced.v1', { twin: { target: { expected: { value: '25' } } }, at: 1 }) // 'target expected 25'
 */
export function summarizeEvent(type: string, data: unknown): string {
  const redacted = redactSecrets(data);
  if (!isRecord(redacted)) return cut(shortValue(redacted));
  const { twin, at: _at, ...rest } = redacted;
  const parts: string[] = [];
  if (isRecord(rest['device'])) parts.push(`device ${String(rest['device']['namespace'])}/${String(rest['device']['name'])}`);
  const fields = Object.entries(rest).filter(([key]) => key !== 'device');
  parts.push(...fields.map(([key, value]) => `${key}=${shortValue(value)}`));
  if (isRecord(twin)) parts.push(...Object.entries(twin).flatMap(([key, value]) => twinPropertySummary(key, value) ?? []));
  const line = parts.join(', ');
  return cut(line === '' ? type : line);
}

/**
 * `target expected 25`, `temperature actual 21.5`, `target deleted`; sides without a value are left
 * out (a cloud sync carries every property, most with no expected value), so is a property with none.
 */
function twinPropertySummary(key: string, value: unknown): string | undefined {
  if (!isRecord(value)) return `${key} deleted`;
  const sides = (['expected', 'actual'] as const).flatMap((side) => {
    const held = value[side];
    return isRecord(held) ? [`${side} ${shortValue(held['value'])}`] : [];
  });
  return sides.length === 0 ? undefined : `${key} ${sides.join(' ')}`;
}

function shortValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return cutTo(/[\s,=]/.test(value) || value === '' ? JSON.stringify(value) : value, valueCharsMax);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    return value.every((item) => typeof item !== 'object' || item === null) ? cutTo(`[${value.map(shortValue).join(' ')}]`, valueCharsMax) : `[${value.length} items]`;
  }
  return '{…}';
}

const cutTo = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const cut = (text: string): string => cutTo(text, summaryCharsMax);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `v7  <time>  <type>  <summary>  (origin edge-1, cause …, correlation …)`. */
export function describeFact(fact: EventFact): string {
  const who = [`origin ${fact.origin}`, ...(fact.causationId === null ? [] : [`cause ${fact.causationId}`]), ...(fact.correlationId === null ? [] : [`correlation ${fact.correlationId}`])];
  return [`v${fact.version}`, fact.at, fact.type, fact.summary, `(${who.join(', ')})`].join('  ');
}

/** What the rebuilt state rests on when no event of it is readable. */
export type Basis = { readonly kind: 'event'; readonly fact: EventFact } | { readonly kind: 'snapshot'; readonly version: number } | { readonly kind: 'nothing' };

/**
 * The lines after a rebuilt state: what made it so and, when replay stopped early (`--until`),
 * the event that came next.
 */
export function madeSoByLines(basis: Basis, next: EventFact | undefined, stoppedEarly: boolean): string[] {
  const lines = [`made so by: ${describeBasis(basis)}`];
  if (stoppedEarly) lines.push(next === undefined ? 'then: nothing after it yet' : `then: ${describeFact(next)}`);
  return lines;
}

function describeBasis(basis: Basis): string {
  switch (basis.kind) {
    case 'event':
      return describeFact(basis.fact);
    case 'snapshot':
      return `the snapshot at v${basis.version} (the events before it were compacted)`;
    case 'nothing':
      return 'nothing yet (no event of this stream is at or before that point)';
    default:
      return assertNever(basis);
  }
}

// A Rule's delivery counters (KubeEdge's `status{successMessages, failMessages, errors[]}`), pure:
// outcomes accumulate into a delta per Rule, and a delta added to the stored status makes the next
// one. The errors list keeps the newest few, each cut short, so a failing target cannot grow a Rule.
import { isJsonObject, type JsonObject } from '../../kernel/index.js';

/** Errors a Rule's status keeps (the newest). */
export const RULE_ERRORS_MAX = 10;
/** Characters kept of one error. */
export const RULE_ERROR_CHARS_MAX = 256;

/** What happened to one message a Rule carried. */
export type DeliveryOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Counts not yet written to a Rule. */
export interface StatusDelta {
  readonly success: number;
  readonly fail: number;
  /** Oldest first, at most RULE_ERRORS_MAX. */
  readonly errors: readonly string[];
}

export const emptyDelta: StatusDelta = { success: 0, fail: 0, errors: [] };

const clip = (text: string): string => (text.length > RULE_ERROR_CHARS_MAX ? `${text.slice(0, RULE_ERROR_CHARS_MAX - 1)}…` : text);

/** The delta with one more outcome. */
export function addOutcome(delta: StatusDelta, outcome: DeliveryOutcome): StatusDelta {
  if (outcome.ok) return { ...delta, success: delta.success + 1 };
  return { success: delta.success, fail: delta.fail + 1, errors: [...delta.errors, clip(outcome.error)].slice(-RULE_ERRORS_MAX) };
}

/** Two deltas as one (a failed write's delta put back before the newer one). */
export function mergeDeltas(older: StatusDelta, newer: StatusDelta): StatusDelta {
  return { success: older.success + newer.success, fail: older.fail + newer.fail, errors: [...older.errors, ...newer.errors].slice(-RULE_ERRORS_MAX) };
}

const countAt = (status: Readonly<Record<string, unknown>> | undefined, key: string): number => {
  const value = status?.[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
};

/** The Rule's next status: the stored counters plus the delta, the newest errors kept. */
export function nextRuleStatus(stored: unknown, delta: StatusDelta): JsonObject {
  const status = isJsonObject(stored) ? stored : undefined;
  const storedErrors = Array.isArray(status?.['errors']) ? (status['errors'] as unknown[]).filter((e): e is string => typeof e === 'string') : [];
  return {
    successMessages: countAt(status, 'successMessages') + delta.success,
    failMessages: countAt(status, 'failMessages') + delta.fail,
    errors: [...storedErrors, ...delta.errors].slice(-RULE_ERRORS_MAX),
  };
}

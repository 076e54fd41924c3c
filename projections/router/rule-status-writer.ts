// Writes Rules' delivery counters to the API (the thin shell of rule-status.ts). Outcomes are counted
// in memory and flushed per Rule, one write in flight per Rule, so a burst of messages costs a few
// writes; each write reads the Rule and merge-patches its status at that resourceVersion, retrying
// a conflict (another cloud process counted too) a bounded number of times, and keeps what it could
// not write for the next flush. Counting never holds up a delivery.
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isJsonObject } from '../../kernel/index.js';
import { stringAt, objectAt } from '../kube/json-fields.js';
import { refKey, type RuleRef } from './router-rules.js';
import { addOutcome, emptyDelta, mergeDeltas, nextRuleStatus, type DeliveryOutcome, type StatusDelta } from './rule-status.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const RULES_GROUP = 'rules.kubeedge.io';
export const RULES_VERSION = 'v1';
/** Read-modify-write attempts of one flush before its delta waits for the next. */
const STATUS_WRITE_ATTEMPTS_MAX = 5;
/** Rules with unwritten counts held at once; past it the oldest counts are dropped (and logged). */
const RULES_PENDING_MAX = 10_000;

export interface RuleStatusLog {
  warn(fields: object, message: string): void;
}

/** Counts deliveries per Rule and writes them to the Rule's status. */
export class RuleStatusWriter {
  readonly #custom: CustomObjectsApi;
  readonly #pending = new Map<string, { readonly rule: RuleRef; delta: StatusDelta }>();
  readonly #flushing = new Map<string, Promise<void>>();
  #stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly log: RuleStatusLog,
  ) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** Counts one outcome for `rule` and starts writing it unless a write of that Rule is in flight. */
  count(rule: RuleRef, outcome: DeliveryOutcome): void {
    if (this.#stopped) return;
    const key = refKey(rule);
    const held = this.#pending.get(key);
    if (held === undefined && this.#pending.size >= RULES_PENDING_MAX) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.log.warn({ rule: oldest }, 'rule status counts dropped: too many rules wait for a write');
    }
    this.#pending.set(key, { rule, delta: addOutcome(held?.delta ?? emptyDelta, outcome) });
    this.#flush(key);
  }

  /** Resolves once every count made so far was written or given up. */
  async settled(): Promise<void> {
    while (this.#flushing.size > 0) await Promise.all([...this.#flushing.values()]);
  }

  stop(): void {
    this.#stopped = true;
  }

  #flush(key: string): void {
    if (this.#flushing.has(key)) return;
    const flushing = (async () => {
      // Counts that arrive during a write are written by the next round.
      for (let entry = this.#pending.get(key); entry !== undefined && !this.#stopped; entry = this.#pending.get(key)) {
        this.#pending.delete(key);
        const written = await this.#write(entry.rule, entry.delta);
        if (!written) {
          const newer = this.#pending.get(key);
          this.#pending.set(key, { rule: entry.rule, delta: mergeDeltas(entry.delta, newer?.delta ?? emptyDelta) });
          return;
        }
      }
    })().finally(() => this.#flushing.delete(key));
    this.#flushing.set(key, flushing);
  }

  /** True when written or when there is nothing to write to (the Rule is gone); false to keep the delta. */
  async #write(rule: RuleRef, delta: StatusDelta): Promise<boolean> {
    const address = { group: RULES_GROUP, version: RULES_VERSION, namespace: rule.namespace, plural: 'rules', name: rule.name };
    for (let attempt = 0; attempt < STATUS_WRITE_ATTEMPTS_MAX; attempt++) {
      try {
        const stored: unknown = await this.#custom.getNamespacedCustomObject(address);
        const resourceVersion = stringAt(objectAt(stored, 'metadata'), 'resourceVersion');
        const status = nextRuleStatus(isJsonObject(stored) ? stored['status'] : undefined, delta);
        await this.#custom.patchNamespacedCustomObject({ ...address, body: { metadata: { resourceVersion }, status } }, mergePatch);
        return true;
      } catch (error) {
        const code = error instanceof ApiException ? error.code : 0;
        if (code === 404) return true;
        if (code === 409) continue;
        this.log.warn({ rule: refKey(rule), error: (error as Error).message }, 'rule status not written; kept for the next message');
        return false;
      }
    }
    this.log.warn({ rule: refKey(rule), attempts: STATUS_WRITE_ATTEMPTS_MAX }, 'rule status kept conflicting; kept for the next message');
    return false;
  }
}

// The cloud Router's EventBus→rest half as an up-effects writer: an edge app's upload, applied by
// the hub in the node's log order, is POSTed to the URL of every Rule that routes it, and counted in
// the Rule's status. A node's deliveries go one at a time, in order. A target that fails is retried a
// bounded number of times, then the message counts as failed and the log moves on; for a while after
// that, the target gets one attempt per message, so a dead target delays a node's up log by one
// attempt's timeout per upload (a few retries now and then), never forever.
// Delivery is at least once: a cloud that crashes after a POST and before the ack POSTs again, with
// the same X-Edgehive-Upload-Id header, so a target can drop the duplicate.
import { type UpEffects, type UpEvent, EVENT_BUS_UPLOADED, readUpload } from '../../transport/index.js';
import { uploadRoutes, type RouterTable, type UploadRoute } from './router-rules.js';
import type { DeliveryOutcome } from './rule-status.js';
import type { RuleRef } from './router-rules.js';

/** Attempts of one POST before the message counts as failed. */
export const DELIVERY_ATTEMPTS_MAX = 3;
/** One attempt's bound, connect to the last byte of the answer. */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 5_000;
/** Waits between attempts: doubling from this. */
const RETRY_DELAY_MS_MIN = 250;
/** Bytes of a target's answer read (KubeEdge cuts a rest target's response at 1 MiB); the rest is dropped. */
const ANSWER_BYTES_MAX = 1024 * 1024;
/** Nodes with deliveries in flight tracked at once (one chain each; a chain ends when its node's deliveries do). */
const NODE_CHAINS_MAX = 100_000;
/** How long a target that failed every attempt gets one attempt per message instead of DELIVERY_ATTEMPTS_MAX. */
export const FAILING_TARGET_COOLDOWN_MS = 30_000;
/** Failing targets remembered at once (the oldest is forgotten first). */
const FAILING_TARGETS_MAX = 1_000;

/** What the router effects need: the rules now, somewhere to count, and (for tests) time. */
export interface RouterEffectsOptions {
  readonly table: () => RouterTable;
  readonly count: (rule: RuleRef, outcome: DeliveryOutcome) => void;
  readonly log: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A monotonic clock in ms (default performance.now). */
  readonly monotonicMs?: () => number;
  readonly post?: typeof fetch;
}

/**
 * Routes EventBus uploads. The cloud hub applies up events through it like the status writers:
 * ```ts
 * const effects = { perform: (n, j, s, e) => (router.handles(e.type) ? router : statuses).perform(n, j, s, e) };
 * ```
 */
export class RouterEffects implements UpEffects {
  readonly #chains = new Map<string, Promise<void>>();
  readonly #timeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #post: typeof fetch;
  readonly #monotonicMs: () => number;
  /** Targets that failed every attempt lately: URL → when (monotonic ms). */
  readonly #failing = new Map<string, number>();

  constructor(private readonly options: RouterEffectsOptions) {
    this.#monotonicMs = options.monotonicMs ?? (() => performance.now());
    this.#timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#post = options.post ?? fetch;
  }

  handles(type: string): boolean {
    return type === EVENT_BUS_UPLOADED;
  }

  /** Delivers the upload to every route, after the node's earlier uploads; never throws for a target's failure. */
  perform(nodeName: string, journalId: string, seq: number, event: UpEvent): Promise<void> {
    const upload = readUpload(event.data);
    if (!upload.ok) {
      this.options.log.warn({ node: nodeName, seq, reason: upload.error }, 'malformed upload applied as nothing');
      return Promise.resolve();
    }
    // Routes are read as the hub hands the event out, so a Rule applies from the message after it is seen.
    const routes = uploadRoutes(this.options.table(), nodeName, upload.value.topic);
    if (routes.length === 0) return Promise.resolve();
    const id = `${nodeName}.${journalId}.${seq}`;
    const previous = this.#chains.get(nodeName) ?? Promise.resolve();
    const delivered = previous.then(async () => {
      for (const route of routes) this.options.count(route.rule, await this.#deliver(route, id, nodeName, upload.value.topic, upload.value.payload));
    });
    if (this.#chains.size < NODE_CHAINS_MAX || this.#chains.has(nodeName)) this.#chains.set(nodeName, delivered);
    void delivered.finally(() => {
      if (this.#chains.get(nodeName) === delivered) this.#chains.delete(nodeName);
    });
    return delivered;
  }

  async #deliver(route: UploadRoute, id: string, node: string, topic: string, payload: Buffer): Promise<DeliveryOutcome> {
    let last = '';
    let refused = false;
    const failedAt = this.#failing.get(route.url);
    const attempts = failedAt !== undefined && this.#monotonicMs() - failedAt < FAILING_TARGET_COOLDOWN_MS ? 1 : DELIVERY_ATTEMPTS_MAX;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await this.#sleep(RETRY_DELAY_MS_MIN * 2 ** (attempt - 1));
      const answer = await this.#postOnce(route.url, id, node, topic, payload);
      if (answer.ok) {
        this.#failing.delete(route.url);
        return answer;
      }
      last = answer.error;
      // A 4xx is the target's verdict on this message; asking again would get the same one.
      if (answer.permanent) {
        refused = true;
        break;
      }
    }
    // A target that answers 4xx is alive; one that failed every attempt is not, for now.
    if (attempts === DELIVERY_ATTEMPTS_MAX && !refused) this.#noteFailing(route.url);
    this.options.log.warn({ rule: `${route.rule.namespace}/${route.rule.name}`, url: route.url, node, error: last }, 'upload not delivered');
    return { ok: false, error: `POST ${route.url}: ${last}` };
  }

  #noteFailing(url: string): void {
    this.#failing.delete(url);
    if (this.#failing.size >= FAILING_TARGETS_MAX) this.#failing.delete(this.#failing.keys().next().value as string);
    this.#failing.set(url, this.#monotonicMs());
  }

  async #postOnce(url: string, id: string, node: string, topic: string, payload: Buffer): Promise<DeliveryOutcome & { readonly permanent?: boolean }> {
    try {
      const response = await this.#post(url, {
        method: 'POST',
        body: payload,
        headers: { 'Content-Type': contentTypeOf(payload), 'X-Edgehive-Node': node, 'X-Edgehive-Topic': encodeURIComponent(topic), 'X-Edgehive-Upload-Id': id },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await drain(response);
      if (response.status >= 200 && response.status < 300) return { ok: true };
      return { ok: false, error: `answered ${response.status}`, permanent: response.status >= 400 && response.status < 500 };
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      return { ok: false, error: (error as Error).name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : (cause ?? (error as Error).message) };
    }
  }
}

/** JSON text is sent as JSON (what KubeEdge's examples POST), anything else as bytes. */
function contentTypeOf(payload: Buffer): string {
  try {
    JSON.parse(payload.toString('utf8'));
    return 'application/json';
  } catch {
    return 'application/octet-stream';
  }
}

/** Reads at most ANSWER_BYTES_MAX of the answer and drops the rest, so the connection is freed. */
async function drain(response: Response): Promise<void> {
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  let read = 0;
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
      if (read > ANSWER_BYTES_MAX) return void (await reader.cancel());
    }
  } catch {
    // The answer's status is what counts; a body cut short changes nothing.
  }
}

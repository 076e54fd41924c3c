// Request/response over the stream (PROTOCOL.md "Request / response"): queries are `sync: true`,
// answered by a `response` or `error` frame naming them in `parent_msg_id`. They are not sequenced:
// a query still unanswered when the link drops is sent again on the next link, until its timeout.
import { err, invariant, ok, type JsonValue, type Result } from '../../kernel/index.js';
import { errorFrame, queryFrame, responseFrame, type ErrorFrame, type Frame, type ModuleName, type QueryFrame, type ResponseFrame, type WireGroup } from '../frames/frame.js';
import type { WireResource } from '../frames/resource.js';
import { freshStamp } from './session.js';

/** Why a query got no answer. */
export type QueryError =
  | { readonly kind: 'QueryTimedOut'; readonly timeoutMs: number; readonly message: string }
  | { readonly kind: 'QueryRefused'; readonly message: string }
  | { readonly kind: 'QueriesPendingMax'; readonly pendingMax: number; readonly message: string }
  | { readonly kind: 'StreamStopped'; readonly message: string };

/** What a query asks: KubeEdge's source module, group and resource, and a body. */
export interface QueryRequest {
  readonly source: ModuleName;
  readonly group: WireGroup;
  readonly resource: WireResource;
  readonly content: JsonValue;
}

/** Answers a query received from the peer: a value for `response`, a string for `error`. */
export type QueryResponder = (query: QueryFrame) => Promise<Result<JsonValue, string>>;

/** Queries one side may have unanswered at once. */
export const QUERIES_PENDING_MAX_DEFAULT = 256;
/** How long a query waits for its answer by default, reconnects included. */
export const QUERY_TIMEOUT_MS_DEFAULT = 30_000;

interface Pending {
  readonly frame: QueryFrame;
  readonly settle: (result: Result<JsonValue, QueryError>) => void;
  readonly timer: NodeJS.Timeout;
}

/** The queries this end asked and awaits, bounded, each with its own timeout. */
export class PendingQueries {
  #pending = new Map<string, Pending>();

  constructor(private readonly pendingMax: number = QUERIES_PENDING_MAX_DEFAULT) {
    invariant(pendingMax >= 1, 'at least one query may be pending');
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Sends a query now if `send` can, else on the next link; resolves with its answer or an error. */
  ask(request: QueryRequest, timeoutMs: number, send: (frame: Frame) => boolean): Promise<Result<JsonValue, QueryError>> {
    if (this.#pending.size >= this.pendingMax) {
      return Promise.resolve(err({ kind: 'QueriesPendingMax', pendingMax: this.pendingMax, message: `${this.pendingMax} queries are already waiting for an answer` }));
    }
    const frame = queryFrame(freshStamp(), request);
    return new Promise((resolve) => {
      const id = frame.header.msg_id;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(err({ kind: 'QueryTimedOut', timeoutMs, message: `no answer to the query for ${frame.route.resource} within ${timeoutMs} ms` }));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { frame, settle: resolve, timer });
      send(frame);
    });
  }

  /** A new link: every unanswered query is asked again (same msg_id, so a late duplicate answer is dropped). */
  resendAll(send: (frame: Frame) => boolean): void {
    for (const pending of this.#pending.values()) send(pending.frame);
  }

  /** A response or error arrived; false when it answers nothing pending (late or duplicate). */
  answered(frame: ResponseFrame | ErrorFrame): boolean {
    const pending = this.#pending.get(frame.header.parent_msg_id);
    if (pending === undefined) return false;
    this.#pending.delete(frame.header.parent_msg_id);
    clearTimeout(pending.timer);
    pending.settle(frame.kind === 'response' ? ok(frame.content) : err({ kind: 'QueryRefused', message: frame.content }));
    return true;
  }

  failAll(message: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.settle(err({ kind: 'StreamStopped', message }));
    }
    this.#pending.clear();
  }
}

/** Answers `query` through `respond`; a responder that throws answers with its message. */
export async function answerQuery(query: QueryFrame, source: ModuleName, respond: QueryResponder): Promise<ResponseFrame | ErrorFrame> {
  try {
    const result = await respond(query);
    return result.ok ? responseFrame(freshStamp(), query, { source, content: result.value }) : errorFrame(freshStamp(), query, { source, content: result.error });
  } catch (error) {
    return errorFrame(freshStamp(), query, { source, content: `query failed: ${(error as Error).message}` });
  }
}

/** Refuses `query` at once with `reason` (authorization, rate limit). */
export const refuseQuery = (query: QueryFrame, source: ModuleName, reason: string): ErrorFrame => errorFrame(freshStamp(), query, { source, content: reason });

/**
 * A token bucket (KubeEdge's per-node query limit: 30/s, burst 60). `take` at monotonic time
 * `nowMs` is true while a token is left.
 */
export class TokenBucket {
  #tokens: number;
  #lastMs: number | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    invariant(perSecond > 0 && burst >= 1, 'a rate limit lets something through');
    this.#tokens = burst;
  }

  take(nowMs: number): boolean {
    if (this.#lastMs !== undefined) this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#lastMs) * this.perSecond) / 1000);
    this.#lastMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** KubeEdge's defaults for unsolicited queries per node. */
export const QUERY_RATE_DEFAULT = { perSecond: 30, burst: 60 } as const;

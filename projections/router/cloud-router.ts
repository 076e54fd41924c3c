// KubeEdge's cloud Router (kubeedge-reference §6) put together: it follows Rules and RuleEndpoints,
// routes edge apps' uploads to rest targets as an up-effects writer, serves the rest→EventBus URL,
// and counts both in the Rules' status. The composition root wires its effects into the hub's
// routing and its handler into an HTTP listener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RouterRestOptions } from './router-rest.js';
import { routerRestHandler } from './router-rest.js';
import { RouterEffects } from './router-effects.js';
import { RuleFollower } from './rule-follower.js';
import { RuleStatusWriter } from './rule-status-writer.js';

export interface CloudRouterOptions {
  readonly log: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  /** The cloud's way to an edge (the hub, possibly bound after the router is made). */
  readonly edges: Pick<RouterRestOptions, 'request' | 'isLinked'>;
  /** One POST attempt's bound (default DELIVERY_TIMEOUT_MS_DEFAULT). */
  readonly deliveryTimeoutMs?: number;
}

/**
 * @example
 * const router = new CloudRouter(kc, { log, edges: { request: (n, r, t) => hub.request(n, r, t), isLinked: (n) => hub.isLinked(n) } });
 * const effects = { perform: (n, j, s, e) => (router.effects.handles(e.type) ? router.effects : statuses).perform(n, j, s, e) };
 */
export class CloudRouter {
  readonly rules: RuleFollower;
  readonly statuses: RuleStatusWriter;
  readonly effects: RouterEffects;

  constructor(kc: KubeConfig, private readonly options: CloudRouterOptions) {
    this.rules = new RuleFollower(kc, { onError: (error) => options.log.warn({ error }, 'router rules watch') });
    this.statuses = new RuleStatusWriter(kc, options.log);
    this.effects = new RouterEffects({
      table: () => this.rules.table(),
      count: (rule, outcome) => this.statuses.count(rule, outcome),
      log: options.log,
      ...(options.deliveryTimeoutMs === undefined ? {} : { timeoutMs: options.deliveryTimeoutMs }),
    });
  }

  /** The handler of KubeEdge's router URL `/<nodeName>/<namespace>/<path>`, for callers `authorized` lets in. */
  restHandler(authorized: (request: IncomingMessage) => boolean): (request: IncomingMessage, response: ServerResponse) => void {
    return routerRestHandler({
      table: () => this.rules.table(),
      request: (node, request, timeoutMs) => this.options.edges.request(node, request, timeoutMs),
      isLinked: (node) => this.options.edges.isLinked(node),
      count: (rule, outcome) => this.statuses.count(rule, outcome),
      authorized,
    });
  }

  /** Resolves once Rules and RuleEndpoints were listed (as empty where the CRDs are not served). */
  synced(): Promise<void> {
    return this.rules.synced();
  }

  /** Stops following Rules, after writing the counts made so far. */
  async stop(): Promise<void> {
    this.rules.stop();
    await this.statuses.settled();
    this.statuses.stop();
  }
}

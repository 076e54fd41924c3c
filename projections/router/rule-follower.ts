// Follows Rules and RuleEndpoints (rules.kubeedge.io v1) through client-node into a RouterTable the
// router reads synchronously. A cluster without the router CRDs is followed as empty and probed
// again with back-off (as the Device CRDs are), so the cloud starts without them.
import type { KubeConfig } from '@kubernetes/client-node';
import { map, merge, type Subscription } from 'rxjs';
import type { JsonObject } from '../../kernel/index.js';
import { reflectCrdResource } from '../device-controller/crd-resource.reflector.js';
import type { ReflectorEvent, ReflectorOptions } from '../kube/reflector.js';
import { nameOf, namespaceOf } from '../kube/json-fields.js';
import { ruleEndpointOf, ruleOf, type RouterTable, type RuleEndpointView, type RuleView } from './router-rules.js';

const RULES_PATH = '/apis/rules.kubeedge.io/v1/rules';
const RULE_ENDPOINTS_PATH = '/apis/rules.kubeedge.io/v1/ruleendpoints';

type Kind = 'rule' | 'endpoint';

/** The Rules and RuleEndpoints of the cluster, as last listed and watched. */
export class RuleFollower {
  readonly #rules = new Map<string, RuleView>();
  readonly #endpoints = new Map<string, RuleEndpointView>();
  readonly #listed = new Set<Kind>();
  readonly #waiting: Array<() => void> = [];
  readonly #subscription: Subscription;

  constructor(kc: KubeConfig, options: ReflectorOptions = {}) {
    const follow = (kind: Kind, path: string) => reflectCrdResource(kc, path, options).pipe(map((event) => ({ kind, event })));
    this.#subscription = merge(follow('rule', RULES_PATH), follow('endpoint', RULE_ENDPOINTS_PATH)).subscribe(({ kind, event }) => this.#apply(kind, event));
  }

  /** The table now: read it per message, it changes as Rules do. */
  table(): RouterTable {
    return { rules: this.#rules, endpoints: this.#endpoints };
  }

  /** Resolves once Rules and RuleEndpoints were each listed once (as empty when not served). */
  synced(): Promise<void> {
    if (this.#listed.size === 2) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }

  #apply(kind: Kind, event: ReflectorEvent): void {
    if (event.type === 'listed') {
      this.#replace(kind, event.objects);
      this.#listed.add(kind);
      if (this.#listed.size === 2) for (const resolve of this.#waiting.splice(0)) resolve();
      return;
    }
    const key = `${namespaceOf(event.object)}/${nameOf(event.object)}`;
    if (event.type === 'DELETED') this.#remove(kind, key);
    else this.#put(kind, key, event.object);
  }

  #replace(kind: Kind, objects: readonly JsonObject[]): void {
    (kind === 'rule' ? this.#rules : this.#endpoints).clear();
    for (const object of objects) this.#put(kind, `${namespaceOf(object)}/${nameOf(object)}`, object);
  }

  #put(kind: Kind, key: string, object: JsonObject): void {
    // A Rule or endpoint that no longer reads as one (its type changed to an unknown one) stops routing.
    if (kind === 'rule') {
      const rule = ruleOf(object);
      if (rule === undefined) this.#rules.delete(key);
      else this.#rules.set(key, rule);
      return;
    }
    const endpoint = ruleEndpointOf(object);
    if (endpoint === undefined) this.#endpoints.delete(key);
    else this.#endpoints.set(key, endpoint);
  }

  #remove(kind: Kind, key: string): void {
    (kind === 'rule' ? this.#rules : this.#endpoints).delete(key);
  }
}

// Kubernetes Events as controllers record them (`kubectl describe` lists them): one Event object per
// (object, type, reason, message), and a repeat within the cache bumps its count and lastTimestamp
// instead of creating another, as client-go's EventCorrelator does. Events are best effort: a failed
// write is logged, never retried, never raised.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../../kernel/index.js';
import { nameOf, namespaceOf, stringAt, uidOf } from './json-fields.js';

/** The object an Event is about. */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  /** The part of the object it is about, e.g. `spec.containers{app}` for a container (kubelet's). */
  readonly fieldPath?: string;
}

/** Where an Event was seen, for kubelet-style sources: `source.host` and `reportingInstance`. */
export interface EventSourceHost {
  readonly host?: string;
}

/** The namespace an Event about `involved` lives in: its own, or `default` for a cluster-scoped object (as the kubelet records Node events). */
const eventNamespaceOf = (involved: InvolvedObject): string => (involved.namespace === '' ? 'default' : involved.namespace);

export interface EventLog {
  warn(fields: object, message: string): void;
}

/** Distinct events remembered for aggregation; past this the oldest is forgotten (a repeat then creates a new Event). */
const AGGREGATED_EVENTS_MAX = 4096;

/** The involved-object reference of an object read from the API. */
export function involvedObjectOf(object: unknown, apiVersion: string, kind: string): InvolvedObject {
  return { apiVersion, kind, name: nameOf(object), namespace: namespaceOf(object), uid: uidOf(object) };
}

/**
 * ```ts
 * const events = new EventRecorder(kc, 'replicaset-controller', () => new Date(), log);
 * await events.record(involvedObjectOf(rs, 'apps/v1', 'ReplicaSet'), 'Normal', 'SuccessfulCreate', 'Created pod: web-abc12');
 * ```
 */
export class EventRecorder {
  readonly #core: CoreV1Api;
  readonly #component: string;
  readonly #now: () => Date;
  readonly #log: EventLog | undefined;
  /** key → the Event's name and count, in insertion order (oldest first). */
  readonly #recorded = new Map<string, { name: string; count: number }>();

  constructor(kubeConfig: KubeConfig, component: string, now: () => Date, log?: EventLog) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#component = component;
    this.#now = now;
    this.#log = log;
  }

  /** Records (or counts a repeat of) an Event; `source.host` names the node it was seen on, when given. */
  async record(involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSourceHost = {}): Promise<void> {
    const key = `${involved.uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = this.#now().toISOString();
    const seen = this.#recorded.get(key);
    const namespace = eventNamespaceOf(involved);
    if (seen !== undefined && (await this.#bump(namespace, seen, now))) return;
    const host: JsonObject = source.host === undefined ? {} : { host: source.host };
    const body: JsonObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${involved.name}.`, namespace },
      involvedObject: { ...involved },
      type,
      reason,
      message,
      source: { component: this.#component, ...host },
      reportingComponent: this.#component,
      ...(source.host === undefined ? {} : { reportingInstance: source.host }),
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      const created: unknown = await this.#core.createNamespacedEvent({ namespace, body: body as never });
      const name = stringAt((created as { metadata?: unknown }).metadata, 'name');
      if (name !== undefined) this.#remember(key, { name, count: 1 });
    } catch (error) {
      this.#log?.warn({ reason, object: `${involved.namespace}/${involved.name}`, error: (error as Error).message }, 'event not recorded');
    }
  }

  /** Counts a repeat on the Event already written; false when it is gone (expired or deleted). */
  async #bump(namespace: string, seen: { name: string; count: number }, now: string): Promise<boolean> {
    try {
      await this.#core.patchNamespacedEvent(
        { name: seen.name, namespace, body: { count: seen.count + 1, lastTimestamp: now } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      seen.count += 1;
      return true;
    } catch {
      return false;
    }
  }

  #remember(key: string, entry: { name: string; count: number }): void {
    this.#recorded.delete(key);
    this.#recorded.set(key, entry);
    if (this.#recorded.size > AGGREGATED_EVENTS_MAX) {
      const oldest = this.#recorded.keys().next();
      if (oldest.done !== true) this.#recorded.delete(oldest.value);
    }
  }
}

// The MetaServer's view: the objects the edge holds, kept in an ObjectStore so the read-only API
// lists, gets and watches them as any stored object. The edge is its only writer; each change it
// feeds becomes one watch event, and feeding what is already held changes nothing.
import { isDeepStrictEqual } from 'node:util';
import { err, invariant, ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { Change, ObjectKey, ObjectStore } from '../store/object-store.js';
import { keyText, parseMetaObject, parseMetaObjectRef, type MetaObject, type MetaObjectRef, type MetaViewError, type ServedKindLookup } from './meta-object.parse.js';

/** What `put` did: `replaced` is a new object under a held name (another uid): DELETED, then ADDED. */
export type PutOutcome = 'added' | 'modified' | 'replaced' | 'unchanged';

/** What `remove` did: `uidDiffers` leaves a newer object of the same name alone. */
export type RemoveOutcome = 'deleted' | 'absent' | 'uidDiffers';

/** How many objects a `replaceAll` added, changed, left alone and removed. */
export interface ReplaceSummary {
  readonly added: number;
  readonly modified: number;
  readonly replaced: number;
  readonly unchanged: number;
  readonly deleted: number;
}

/**
 * What the edge agent feeds the MetaServer: the desired objects it holds (ConfigMaps, Secrets, Pods,
 * Services, Endpoints, its Node) and the pod status it computes, as whole Kubernetes objects.
 *
 * The view stamps every change with its own resourceVersion (one counter for all kinds, as
 * list/watch needs): the cloud's resourceVersion is not kept, since local status changes have none
 * and versions of different kinds from the cloud need not arrive in order. An object fed again with
 * the same content keeps its version and makes no event, so re-feeding after a reconnect is cheap.
 *
 * @example
 * ```ts
 * view.replaceAll(heldObjects);            // at start, from the edge journal
 * view.put({ ...pod, status: observed });  // MODIFIED for watchers
 * view.remove({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web', uid }); // DELETED
 * ```
 */
export interface MetaView {
  /** Holds exactly `objects` from now on: what is missing goes (DELETED), the rest is put. Checked whole before anything changes. */
  replaceAll(objects: readonly JsonObject[]): Result<ReplaceSummary, MetaViewError>;
  /** Holds `object`, replacing what is held under its name. */
  put(object: JsonObject): Result<PutOutcome, MetaViewError>;
  /** Drops the named object; with a uid, only if the held object has that uid. */
  remove(ref: MetaObjectRef): Result<RemoveOutcome, MetaViewError>;
  /** Objects held now. */
  readonly size: number;
}

export interface MetaViewLimits {
  readonly objectsMax: number;
  /** Bytes of one object as JSON. */
  readonly objectBytesMax: number;
}

interface Held {
  readonly key: ObjectKey;
  readonly uid: string | undefined;
}

const uidOf = (object: JsonObject): string | undefined => {
  const uid = (object['metadata'] as { uid?: unknown } | undefined)?.uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
};

/** The object without its resourceVersion: what "the same content" compares. */
const withoutVersion = (object: JsonObject): JsonObject => {
  const { resourceVersion: _dropped, ...metadata } = (object['metadata'] ?? {}) as Record<string, unknown>;
  return { ...object, metadata: metadata as JsonObject };
};

/** The view over a store it alone writes to; `close` stops it (the owner closes the store). */
export class StoreMetaView implements MetaView {
  readonly #store: ObjectStore;
  readonly #served: ServedKindLookup;
  readonly #limits: MetaViewLimits;
  /** Held objects by key text, and key text by uid: kept from the store's own change feed. */
  readonly #held = new Map<string, Held>();
  readonly #byUid = new Map<string, string>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(store: ObjectStore, served: ServedKindLookup, limits: MetaViewLimits) {
    invariant(Number.isInteger(limits.objectsMax) && limits.objectsMax >= 1, 'objectsMax is a positive integer');
    invariant(Number.isInteger(limits.objectBytesMax) && limits.objectBytesMax >= 1, 'objectBytesMax is a positive integer');
    this.#store = store;
    this.#served = served;
    this.#limits = limits;
    this.#unsubscribe = store.onChange((change) => this.#track(change));
  }

  get size(): number {
    return this.#held.size;
  }

  replaceAll(objects: readonly JsonObject[]): Result<ReplaceSummary, MetaViewError> {
    if (this.#closed) return err({ kind: 'Closed' });
    if (objects.length > this.#limits.objectsMax) return err({ kind: 'ViewFull', objectsMax: this.#limits.objectsMax });
    const incoming = new Map<string, MetaObject>();
    for (const [index, value] of objects.entries()) {
      const parsed = parseMetaObject(value, this.#served, this.#limits.objectBytesMax);
      if (!parsed.ok) return err({ ...parsed.error, index } as MetaViewError);
      const text = keyText(parsed.value.key);
      if (incoming.has(text)) return err({ kind: 'DuplicateObject', ref: parsed.value.ref, index });
      incoming.set(text, parsed.value);
    }
    let deleted = 0;
    // Removals first, so the puts never meet the objectsMax bound the batch itself respects.
    for (const [text, held] of [...this.#held]) {
      if (incoming.has(text)) continue;
      this.#delete(held.key);
      deleted += 1;
    }
    const counts = { added: 0, modified: 0, replaced: 0, unchanged: 0 };
    for (const object of incoming.values()) {
      const outcome = this.#put(object);
      invariant(outcome.ok, 'a batch within objectsMax always fits once the rest is removed');
      counts[outcome.value] += 1;
    }
    return ok({ ...counts, deleted });
  }

  put(object: JsonObject): Result<PutOutcome, MetaViewError> {
    if (this.#closed) return err({ kind: 'Closed' });
    const parsed = parseMetaObject(object, this.#served, this.#limits.objectBytesMax);
    return parsed.ok ? this.#put(parsed.value) : parsed;
  }

  remove(ref: MetaObjectRef): Result<RemoveOutcome, MetaViewError> {
    if (this.#closed) return err({ kind: 'Closed' });
    const parsed = parseMetaObjectRef(ref, this.#served);
    if (!parsed.ok) return parsed;
    const text = parsed.value.by === 'uid' ? this.#byUid.get(parsed.value.uid) : keyText(parsed.value.key);
    const held = text === undefined ? undefined : this.#held.get(text);
    if (held === undefined) return ok('absent');
    if (parsed.value.uid !== undefined && held.uid !== parsed.value.uid) return ok('uidDiffers');
    this.#delete(held.key);
    return ok('deleted');
  }

  /** Stops following the store; every later call answers Closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
  }

  #put(parsed: MetaObject): Result<PutOutcome, MetaViewError> {
    const current = this.#store.get(parsed.key);
    if (current === undefined) {
      if (this.#held.size >= this.#limits.objectsMax) return err({ kind: 'ViewFull', objectsMax: this.#limits.objectsMax });
      this.#create(parsed);
      return ok('added');
    }
    const currentUid = uidOf(current);
    // A new object under an old name: watchers keyed by uid must see the old one go.
    if (parsed.uid !== undefined && currentUid !== undefined && parsed.uid !== currentUid) {
      this.#delete(parsed.key);
      this.#create(parsed);
      return ok('replaced');
    }
    if (isDeepStrictEqual(withoutVersion(current), parsed.object)) return ok('unchanged');
    const updated = this.#store.update(parsed.key, undefined, () => ok(parsed.object));
    invariant(updated.ok, 'the view is the only writer of its store: a held object is there to update');
    return ok('modified');
  }

  #create(parsed: MetaObject): void {
    const created = this.#store.create(parsed.key, () => parsed.object);
    invariant(created.ok, 'the view is the only writer of its store: an absent object can be created');
  }

  #delete(key: ObjectKey): void {
    const removed = this.#store.delete(key, undefined);
    invariant(removed.ok, 'the view is the only writer of its store: a held object is there to delete');
  }

  #track(change: Change): void {
    const text = keyText(change.key);
    const previous = this.#held.get(text);
    if (previous?.uid !== undefined && this.#byUid.get(previous.uid) === text) this.#byUid.delete(previous.uid);
    if (change.type === 'DELETED') {
      this.#held.delete(text);
      return;
    }
    const uid = uidOf(change.object);
    this.#held.set(text, { key: change.key, uid });
    if (uid !== undefined) this.#byUid.set(uid, text);
  }
}

// A shared informer, as client-go has them: one reflector per resource path however many
// controllers read it, keeping the current objects in a map and telling each listener when
// anything changed. Controllers read the map during their passes instead of keeping copies.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { uidOf } from './json-fields.js';
import { applyReflected, reflect, type ReflectorEvent, type ReflectorOptions } from './reflector.js';

type Raw = Record<string, unknown>;

/** The objects of one resource path, by uid, and whether the first list has arrived. */
export class Informer {
  readonly #objects = new Map<string, Raw>();
  readonly #listeners = new Set<(event: ReflectorEvent) => void>();
  readonly #subscription: Subscription;
  #synced = false;

  constructor(kc: KubeConfig, path: string, options: ReflectorOptions) {
    this.#subscription = reflect(kc, path, options).subscribe((event) => {
      applyReflected(this.#objects, event, uidOf);
      if (event.type === 'listed') this.#synced = true;
      for (const listener of this.#listeners) listener(event);
    });
  }

  /** Whether the first list has arrived (before that, an empty map means "not known yet"). */
  get synced(): boolean {
    return this.#synced;
  }

  /** The current objects (read-only by contract: never mutate what the API sent). */
  objects(): IterableIterator<Raw> {
    return this.#objects.values();
  }

  get(uid: string): Raw | undefined {
    return this.#objects.get(uid);
  }

  /** Calls `listener` after every change; returns the way to stop. */
  onChange(listener: (event: ReflectorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    this.#subscription.unsubscribe();
    this.#listeners.clear();
  }
}

/** One informer per path, made on first use and stopped together. */
export class Informers {
  readonly #kc: KubeConfig;
  readonly #options: ReflectorOptions;
  readonly #byPath = new Map<string, Informer>();

  constructor(kc: KubeConfig, options: ReflectorOptions = {}) {
    this.#kc = kc;
    this.#options = options;
  }

  of(path: string): Informer {
    let informer = this.#byPath.get(path);
    if (informer === undefined) {
      informer = new Informer(this.#kc, path, this.#options);
      this.#byPath.set(path, informer);
    }
    return informer;
  }

  stop(): void {
    for (const informer of this.#byPath.values()) informer.stop();
    this.#byPath.clear();
  }
}

// An immutable map whose updates cost O(√n), not O(n): the cores' states stay pure values even
// for a node with tens of thousands of objects. Changes sit in a small top layer over a shared
// base and are folded into a new base once the layer outgrows √size.

const removed = Symbol('removed');

export class LayeredMap<K, V> implements Iterable<[K, V]> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly top: ReadonlyMap<K, V | typeof removed>,
    /** The number of entries. */
    readonly size: number,
  ) {}

  static empty<K, V>(): LayeredMap<K, V> {
    return new LayeredMap(new Map(), new Map(), 0);
  }

  static of<K, V>(entries: Iterable<readonly [K, V]>): LayeredMap<K, V> {
    const base = new Map(entries);
    return new LayeredMap(base, new Map(), base.size);
  }

  get(key: K): V | undefined {
    const changed = this.top.get(key);
    if (changed === removed) return undefined;
    return changed !== undefined ? changed : this.base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): LayeredMap<K, V> {
    const top = new Map(this.top);
    top.set(key, value);
    return this.#settle(top, this.has(key) ? this.size : this.size + 1);
  }

  delete(key: K): LayeredMap<K, V> {
    if (!this.has(key)) return this;
    const top = new Map(this.top);
    top.set(key, removed);
    return this.#settle(top, this.size - 1);
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [key, value] of this.base) {
      const changed = this.top.get(key);
      if (changed === undefined) yield [key, value];
      else if (changed !== removed) yield [key, changed];
    }
    for (const [key, changed] of this.top) if (changed !== removed && !this.base.has(key)) yield [key, changed];
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Folds the top layer into a new base when it has grown past √size (at least 32 entries). */
  #settle(top: Map<K, V | typeof removed>, size: number): LayeredMap<K, V> {
    if (top.size <= Math.max(32, Math.sqrt(size))) return new LayeredMap(this.base, top, size);
    const base = new Map(this.base);
    for (const [key, changed] of top) {
      if (changed === removed) base.delete(key);
      else base.set(key, changed);
    }
    return new LayeredMap(base, new Map(), size);
  }
}

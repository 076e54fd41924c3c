// An immutable map whose updates cost O(1): the cores' states stay pure values even for a node with
// tens of thousands of objects. All versions share one mutable Map (Baker's rerooting, as in
// persistent arrays): the version touched last owns it, and every other version is an undo record
// that leads, record by record, to the owner. Touching an older version moves the Map back to it,
// so each version always reads as it was made; a core that uses only its newest state never waits.

const absent = Symbol('absent');

/** The shared Map, or how this version differs from `next`, a version one step closer to the owner. */
type Cell<K, V> = { readonly map: Map<K, V> } | { readonly key: K; readonly value: V | typeof absent; readonly next: LayeredMap<K, V> };

/**
 * A persistent map: `set` and `delete` return a new version and never change this one.
 *
 * Costs: any operation on the newest version is O(1). Using an older version first undoes the
 * changes made since it (O(changes)), and going back to the newer one redoes them, so code that
 * alternates between two distant versions pays their distance each time. Iteration copies the
 * entries first (O(size)), so a loop may derive new versions from the map it walks. Iteration
 * order is the shared Map's insertion order: a key whose deletion an older version undoes comes
 * last there. Values are never `undefined` (`has` is `get(key) !== undefined`).
 *
 * @example
 * const a = LayeredMap.of([['x', 1]]);
 * const b = a.set('y', 2); // a still holds only x
 */
export class LayeredMap<K, V> implements Iterable<[K, V]> {
  #cell: Cell<K, V>;

  private constructor(
    cell: Cell<K, V>,
    /** The number of entries. */
    readonly size: number,
  ) {
    this.#cell = cell;
  }

  static empty<K, V>(): LayeredMap<K, V> {
    return new LayeredMap<K, V>({ map: new Map() }, 0);
  }

  static of<K, V>(entries: Iterable<readonly [K, V]>): LayeredMap<K, V> {
    const map = new Map(entries);
    return new LayeredMap({ map }, map.size);
  }

  get(key: K): V | undefined {
    return this.#own().get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): LayeredMap<K, V> {
    const map = this.#own();
    const had = map.has(key);
    const previous = had ? (map.get(key) as V) : absent;
    if (previous === value) return this;
    map.set(key, value);
    return this.#handOver(map, key, previous, had ? this.size : this.size + 1);
  }

  delete(key: K): LayeredMap<K, V> {
    const map = this.#own();
    if (!map.has(key)) return this;
    const previous = map.get(key) as V;
    map.delete(key);
    return this.#handOver(map, key, previous, this.size - 1);
  }

  entries(): IterableIterator<[K, V]> {
    return [...this.#own()][Symbol.iterator]();
  }

  keys(): IterableIterator<K> {
    return [...this.#own().keys()][Symbol.iterator]();
  }

  values(): IterableIterator<V> {
    return [...this.#own().values()][Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** The shared Map, already changed by one step: a new version owns it and this one records the step's undo. */
  #handOver(map: Map<K, V>, key: K, previous: V | typeof absent, size: number): LayeredMap<K, V> {
    const next = new LayeredMap<K, V>({ map }, size);
    this.#cell = { key, value: previous, next };
    return next;
  }

  /** Makes this version the owner of the shared Map: undoes, nearest the owner first, each step taken since, recording its redo. */
  #own(): Map<K, V> {
    const cell = this.#cell;
    if ('map' in cell) return cell.map;
    const path: LayeredMap<K, V>[] = [];
    let owner: LayeredMap<K, V> = this;
    for (let c = owner.#cell; !('map' in c); c = owner.#cell) {
      path.push(owner);
      owner = c.next;
    }
    const { map } = owner.#cell as { readonly map: Map<K, V> };
    for (let i = path.length - 1; i >= 0; i -= 1) {
      const older = path[i]!;
      const undo = older.#cell as { readonly key: K; readonly value: V | typeof absent; readonly next: LayeredMap<K, V> };
      const redo = map.has(undo.key) ? (map.get(undo.key) as V) : absent;
      if (undo.value === absent) map.delete(undo.key);
      else map.set(undo.key, undo.value);
      undo.next.#cell = { key: undo.key, value: redo, next: older };
      older.#cell = { map };
    }
    return map;
  }
}

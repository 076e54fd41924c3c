// The layered map against a plain Map as its model (STYLE R17): any sequence of sets and deletes
// gives the same entries, and no earlier version ever changes, whichever version is used next.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LayeredMap } from './layered-map.js';

const operations = fc.array(fc.record({ key: fc.nat(60), value: fc.option(fc.nat(), { nil: undefined }) }), { maxLength: 400 });
const sorted = (entries: Iterable<[number, number]>): [number, number][] => [...entries].sort((a, b) => a[0] - b[0]);

describe('LayeredMap', () => {
  it('holds what a Map would, and stays unchanged when later versions change', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const model = new Map<number, number>();
        let map = LayeredMap.empty<number, number>();
        const versions: { map: LayeredMap<number, number>; entries: [number, number][] }[] = [];
        for (const { key, value } of ops) {
          if (value === undefined) {
            model.delete(key);
            map = map.delete(key);
          } else {
            model.set(key, value);
            map = map.set(key, value);
          }
          versions.push({ map, entries: sorted(model) });
          expect(map.size).toBe(model.size);
          expect(map.get(key)).toBe(model.get(key));
        }
        for (const version of versions) expect(sorted(version.map)).toEqual(version.entries);
      }),
      { numRuns: 200 },
    );
  });

  it('derives from any earlier version, in any order, and every version keeps its entries', () => {
    const steps = fc.array(fc.record({ from: fc.nat(), key: fc.nat(40), value: fc.option(fc.nat(), { nil: undefined }), probe: fc.nat() }), { maxLength: 300 });
    fc.assert(
      fc.property(steps, (ops) => {
        const versions: { map: LayeredMap<number, number>; model: Map<number, number> }[] = [{ map: LayeredMap.empty(), model: new Map() }];
        for (const { from, key, value, probe } of ops) {
          const base = versions[from % versions.length]!;
          const model = new Map(base.model);
          if (value === undefined) model.delete(key);
          else model.set(key, value);
          const map = value === undefined ? base.map.delete(key) : base.map.set(key, value);
          versions.push({ map, model });
          const probed = versions[probe % versions.length]!;
          expect(probed.map.get(key)).toBe(probed.model.get(key));
          expect(probed.map.size).toBe(probed.model.size);
        }
        for (const { map, model } of versions) expect(sorted(map)).toEqual(sorted(model));
      }),
      { numRuns: 200 },
    );
  });

  it('may derive new versions while iterating one, and a version iterated later still reads as made', () => {
    const start = LayeredMap.of(Array.from({ length: 1000 }, (_, i) => [i, i] as [number, number]));
    let pruned = start;
    for (const [key] of start) if (key % 2 === 0) pruned = pruned.delete(key);
    expect(pruned.size).toBe(500);
    expect([...pruned.keys()].every((key) => key % 2 === 1)).toBe(true);
    expect(sorted(start)).toEqual(Array.from({ length: 1000 }, (_, i) => [i, i]));
    expect(pruned.get(2)).toBeUndefined();
    expect(start.get(2)).toBe(2);
  });

  it('returns the same version for a set that changes nothing and a delete of a missing key', () => {
    const map = LayeredMap.of([['a', 1]]);
    expect(map.set('a', 1)).toBe(map);
    expect(map.delete('b')).toBe(map);
  });
});

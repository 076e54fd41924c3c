// The layered map against a plain Map as its model (STYLE R17): any sequence of sets and deletes
// gives the same entries, and no earlier version ever changes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LayeredMap } from './layered-map.js';

const operations = fc.array(fc.record({ key: fc.nat(60), value: fc.option(fc.nat(), { nil: undefined }) }), { maxLength: 400 });

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
          versions.push({ map, entries: [...model].sort((a, b) => a[0] - b[0]) });
          expect(map.size).toBe(model.size);
          expect(map.get(key)).toBe(model.get(key));
        }
        for (const version of versions) expect([...version.map].sort((a, b) => a[0] - b[0])).toEqual(version.entries);
      }),
      { numRuns: 200 },
    );
  });
});

// The house rules that a compiler does not check. Method: read every source file and assert that
// rooms meet only at their doors (STYLE R1) and pure code touches no clock, randomness or timer (R8).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const rooms = ['kernel', 'journal', 'actors', 'projections', 'transport', 'k8s', 'runtime', 'cmd', 'properties', 'bench', 'test'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const allFiles = rooms.flatMap((room) => sourceFiles(join(root, room)));
const roomOf = (file: string): string => relative(root, file).split(sep)[0] ?? '';
const isTestCode = (file: string): boolean => /\.(spec|testing|contract)\.ts$/.test(file);

describe('architecture', () => {
  it('production code reaches another room only through its index.ts door', () => {
    const violations: string[] = [];
    for (const file of allFiles.filter((f) => !isTestCode(f))) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const resolved = join(file, '..', target ?? '');
        const targetRoom = roomOf(resolved);
        // Benchmarks measure with the same fixtures the specs use (a cloud on free ports, in-memory ports).
        const benchFixture = roomOf(file) === 'bench' && resolved.endsWith('.testing.js');
        if (targetRoom !== roomOf(file) && rooms.includes(targetRoom) && relative(join(root, targetRoom), resolved) !== 'index.js' && !benchFixture) {
          violations.push(`${relative(root, file)} imports ${target}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('machines, deciders and folds use no wall clock, randomness or timers', () => {
    const pure = allFiles.filter((f) => /\.(machine|decider|events|kind)\.ts$/.test(f) || f.endsWith(`${sep}fold.ts`));
    expect(pure.length).toBeGreaterThan(0);
    const forbidden = /\b(Date\.now|new Date\(\)|Math\.random|randomUUID|setTimeout|setInterval|performance\.now)\b/;
    const violations = pure.filter((f) => forbidden.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(violations).toEqual([]);
  });

  it('no test is skipped, focused or left as a todo, except the EventStoreDB suite waiting for ESDB_URL', () => {
    const specs = allFiles.filter((f) => f.endsWith('.spec.ts') && !f.endsWith(`architecture.unit.spec.ts`));
    const marked = specs.filter((f) => /\b(it|test|describe)\.(only|todo)\b|\b(it|test)\.skip\b|\bxit\(/.test(readFileSync(f, 'utf8')));
    expect(marked.map((f) => relative(root, f))).toEqual([]);
    const conditional = specs.filter((f) => /\.skipIf\(/.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(conditional.every((f) => f === join('journal', 'esdb.e2e.spec.ts'))).toBe(true);
  });
});

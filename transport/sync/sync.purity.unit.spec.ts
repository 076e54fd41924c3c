// The cores are pure (STYLE R8): no clock, randomness, timer or I/O in any production file here.
// Method: read the sources; the architecture spec checks only *.decider/*.machine files.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('.', import.meta.url));
const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !/\.(spec|testing)\.ts$/.test(f));

describe('the sync cores', () => {
  it('use no wall clock, randomness, timers or I/O', () => {
    expect(sources.length).toBeGreaterThan(5);
    const forbidden = /\b(Date\.now|new Date\(|Math\.random|randomUUID|setTimeout|setInterval|performance\.now|process\.|from 'node:)/;
    expect(sources.filter((f) => forbidden.test(readFileSync(`${dir}/${f}`, 'utf8')))).toEqual([]);
  });
});

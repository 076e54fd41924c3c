// Parsing /proc/<pid>/stat. Method: stat lines whose command names hold spaces and parentheses
// must still give the right state, process group and start time; malformed lines give nothing;
// and this process's own stat, read for real, names itself.
import { describe, expect, it } from 'vitest';
import { parseProcStat, readBootId, readProcStat } from './proc.reader.js';

// Fields 1–22 of a real line, with field 5 (pgrp) = 4242 and field 22 (starttime) = 987654.
const statLine = (comm: string) => `1234 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

describe('parseProcStat', () => {
  it.each(['sleep', 'my prog', 'a) S 9 9 (b', '(()'])('reads the fields after a command name like %j', (comm) => {
    expect(parseProcStat(statLine(comm))).toEqual({ pid: 1234, state: 'S', pgrp: 4242, startTicks: 987654 });
  });

  it.each(['', 'garbage', '12 no parens S 1 2', '(x) S'])('gives nothing for %j', (line) => {
    expect(parseProcStat(line)).toBeUndefined();
  });

  it("reads this process's own entry", () => {
    const own = readProcStat(process.pid);
    expect(own).toMatchObject({ pid: process.pid, state: expect.stringMatching(/^[RS]$/) });
    expect(own?.startTicks).toBeGreaterThan(0);
    expect(readProcStat(2 ** 30)).toBeUndefined();
  });

  it('reads a boot id', () => {
    expect(readBootId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

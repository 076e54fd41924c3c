// Choosing how memory limits are enforced. Method: fake cgroup trees in a temp dir stand in for
// /sys/fs/cgroup and /proc/self/cgroup: cgroup v2 with the memory controller delegated and
// writable is chosen, anything less falls back to RSS polling with a reason; then a run cgroup's
// files are written and read as the kernel's would be.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupOomKilled, createRunCgroup, detectMemoryEnforcement } from './memory.limits.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-cgroup-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A fake host: cgroup2 at /sys/fs/cgroup, the agent in `ownPath`, subtree_control per directory. */
function fakeHost(ownPath: string, subtreeControl: Readonly<Record<string, string>>): string {
  const mount = join(root, 'sys/fs/cgroup');
  mkdirSync(join(mount, ownPath), { recursive: true });
  writeFileSync(join(mount, 'cgroup.controllers'), 'cpu io memory pids\n');
  for (const [dir, controllers] of Object.entries(subtreeControl)) writeFileSync(join(mount, dir, 'cgroup.subtree_control'), controllers);
  mkdirSync(join(root, 'proc/self'), { recursive: true });
  writeFileSync(join(root, 'proc/self/cgroup'), `0::/${ownPath}\n`);
  return mount;
}

describe('detectMemoryEnforcement', () => {
  it('falls back to RSS polling without a cgroup v2 mount', () => {
    expect(detectMemoryEnforcement(root, null)).toEqual({ kind: 'rss', why: `${join(root, 'sys/fs/cgroup')} is not a cgroup v2 mount` });
  });

  it("picks the parent of the agent's leaf cgroup when it delegates memory (systemd Delegate=yes)", () => {
    const mount = fakeHost('edge.service/agent', { 'edge.service': 'memory pids' });
    expect(detectMemoryEnforcement(root, null)).toEqual({ kind: 'cgroup', parent: join(mount, 'edge.service') });
  });

  it('falls back to RSS polling when no candidate enables the memory controller', () => {
    fakeHost('edge.service/agent', { 'edge.service': 'cpu pids' });
    expect(detectMemoryEnforcement(root, null)).toMatchObject({ kind: 'rss', why: expect.stringContaining('no writable cgroup') });
  });

  it('uses a configured cgroupParent, and only that one', () => {
    const mount = fakeHost('agent', { '.': 'memory' });
    mkdirSync(join(mount, 'runs'));
    writeFileSync(join(mount, 'runs', 'cgroup.subtree_control'), 'memory');
    expect(detectMemoryEnforcement(root, join(mount, 'runs'))).toEqual({ kind: 'cgroup', parent: join(mount, 'runs') });
    expect(detectMemoryEnforcement(root, join(mount, 'missing')).kind).toBe('rss');
  });
});

describe('a run cgroup', () => {
  it('gets memory.max, and reports an OOM kill from memory.events', () => {
    const dir = createRunCgroup(root, 'edgehive-uid-run', 64 * 1024 * 1024);
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(cgroupOomKilled(dir)).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n');
    expect(cgroupOomKilled(dir)).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    expect(cgroupOomKilled(dir)).toBe(true);
  });
});

// How memory limits are enforced: a cgroup v2 `memory.max` per run when a writable delegation
// exists, else RSS polling of the run's process group (never RLIMIT_AS: V8 reserves gigabytes).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The enforcement in force; `why` says why cgroups were not used, for the agent's log. */
export type MemoryEnforcement = { readonly kind: 'cgroup'; readonly parent: string } | { readonly kind: 'rss'; readonly why: string };

/**
 * Picks cgroup v2 when `/sys/fs/cgroup` is a cgroup2 mount and a candidate parent has the memory
 * controller enabled for its children and lets us create one. Candidates: `cgroupParent` if given,
 * else the agent's own cgroup and its parent (the usual systemd `Delegate=yes` layout puts the
 * agent in a leaf beside which runs can be created).
 */
export function detectMemoryEnforcement(fsRoot: string, cgroupParent: string | null): MemoryEnforcement {
  const mount = join(fsRoot, 'sys/fs/cgroup');
  if (!existsSync(join(mount, 'cgroup.controllers'))) return { kind: 'rss', why: `${mount} is not a cgroup v2 mount` };
  const candidates = cgroupParent !== null ? [cgroupParent] : ownCgroupCandidates(fsRoot, mount);
  for (const candidate of candidates) {
    if (canHostMemoryChildren(candidate)) return { kind: 'cgroup', parent: candidate };
  }
  return { kind: 'rss', why: `no writable cgroup with the memory controller delegated among ${candidates.join(', ') || 'none'}` };
}

function ownCgroupCandidates(fsRoot: string, mount: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(fsRoot, 'proc/self/cgroup'), 'utf8');
  } catch {
    return [];
  }
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  if (line === undefined) return [];
  const own = join(mount, line.slice(3).trim());
  return own === mount ? [own] : [own, dirname(own)];
}

function canHostMemoryChildren(dir: string): boolean {
  let controllers: string;
  try {
    controllers = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8');
  } catch {
    return false;
  }
  if (!controllers.split(/\s+/).includes('memory')) return false;
  const probe = join(dir, `edgehive-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** Creates a run's cgroup with its limit; swap is capped at 0 so the limit cannot be dodged by swapping. */
export function createRunCgroup(parent: string, name: string, memoryBytesMax: number | null): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  if (memoryBytesMax !== null) {
    writeFileSync(join(dir, 'memory.max'), String(memoryBytesMax));
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  }
  return dir;
}

/** Whether the kernel's OOM killer killed anything in the cgroup. */
export function cgroupOomKilled(dir: string): boolean {
  try {
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.events'), 'utf8'));
    return match?.[1] !== undefined && Number(match[1]) > 0;
  } catch {
    return false;
  }
}

/** SIGKILLs everything in the cgroup, escaped process groups included (Linux ≥ 5.14); false if unsupported. */
export function killCgroup(dir: string): boolean {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
    return true;
  } catch {
    return false;
  }
}

/** Removes an empty run cgroup; a busy one is left for `removePod`. */
export function removeCgroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still has processes (or is gone already): nothing to do now.
  }
}

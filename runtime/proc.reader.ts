// Reads what Linux's /proc says about processes: identity (pid + start time + boot id), process
// group membership, resident memory and the environment a process started with.
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A process as far as the runtime cares; `startTicks` is /proc/<pid>/stat field 22. */
export type ProcStat = { readonly pid: number; readonly state: string; readonly pgrp: number; readonly startTicks: number };

/** Who a recorded process was: a pid alone may have been reused since. */
export type ProcessIdentity = { readonly pid: number; readonly startTicks: number; readonly bootId: string };

/** The largest environment read back from /proc (Linux caps it near ARG_MAX anyway). */
export const environBytesMax = 2 * 1024 * 1024;

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
 * spaces or parentheses, so fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Field 3 (state) is the first after the name; field N is at index N - 3.
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0];
  const pgrp = Number(rest[5 - 3]);
  const startTicks = Number(rest[22 - 3]);
  if (state === undefined || !Number.isInteger(pid) || !Number.isInteger(pgrp) || !Number.isInteger(startTicks)) return undefined;
  return { pid, state, pgrp, startTicks };
}

/** /proc/<pid>/stat of one process, or undefined when there is no such process. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** This boot's id: a process recorded under another boot is gone, whatever its pid now names. */
export function readBootId(procRoot = '/proc'): string | undefined {
  try {
    return readFileSync(join(procRoot, 'sys/kernel/random/boot_id'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * True when `identity` still names a live process: same boot, the pid exists, it started at the
 * recorded tick (so it is not a reused pid) and it is not a zombie waiting to be reaped.
 */
export function isSameProcessAlive(identity: ProcessIdentity, bootId: string, procRoot = '/proc'): boolean {
  if (identity.bootId !== bootId) return false;
  const stat = readProcStat(identity.pid, procRoot);
  if (stat === undefined) return false;
  if (stat.startTicks !== identity.startTicks) return false;
  return stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live process, grouped by process group id; read in one pass over /proc. */
export async function readProcessGroups(procRoot = '/proc'): Promise<ReadonlyMap<number, readonly number[]>> {
  const groups = new Map<number, number[]>();
  const names = await readdir(procRoot).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(join(procRoot, name, 'stat'), 'utf8').then(parseProcStat, () => undefined);
    if (stat === undefined || stat.state === 'Z') continue;
    const members = groups.get(stat.pgrp) ?? [];
    members.push(stat.pid);
    groups.set(stat.pgrp, members);
  }
  return groups;
}

/** Resident memory of one process (VmRSS in /proc/<pid>/status), 0 when it is gone or a kernel thread. */
export async function readRssBytes(pid: number, procRoot = '/proc'): Promise<number> {
  const status = await readFile(join(procRoot, String(pid), 'status'), 'utf8').catch(() => '');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
}

/** The environment a process was started with, as name → value (later duplicates win). */
export function readEnviron(pid: number, procRoot = '/proc'): Record<string, string> | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(join(procRoot, String(pid), 'environ'));
  } catch {
    return undefined;
  }
  if (raw.length > environBytesMax) return undefined;
  const env: Record<string, string> = {};
  for (const entry of raw.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The pids of a process's children (Linux ≥ 3.5 with CONFIG_PROC_CHILDREN, as every distribution kernel). */
export function readChildren(pid: number, procRoot = '/proc'): number[] {
  try {
    return readFileSync(join(procRoot, String(pid), 'task', String(pid), 'children'), 'utf8').split(' ').filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

/** A process's argv as /proc shows it (NUL-separated), or undefined when it is gone. */
export function readCmdline(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return readFileSync(join(procRoot, String(pid), 'cmdline'), 'latin1');
  } catch {
    return undefined;
  }
}

/** Whether this host has a /proc the runtime can use (Linux). */
export function hasProcFs(procRoot = '/proc'): boolean {
  try {
    return readdirSync(procRoot).includes('self');
  } catch {
    return false;
  }
}

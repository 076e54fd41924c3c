// Run records: one small JSON file per container run under <dataDir>/runtime/runs/<podUid>/,
// written atomically before a start resolves, so an agent that was SIGKILLed can find its children.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PodRef } from '../actors/index.js';
import { err, isJsonObject, ok, type Result } from '../kernel/index.js';
import type { ProcessIdentity } from './proc.reader.js';
import type { ContainerExit, ExitReason } from './runtime.port.js';

/** A run as recorded on disk; `exit` is set once the runtime has seen (or concluded) its end. */
export type RunRecord = ProcessIdentity & {
  readonly v: 1;
  readonly pod: PodRef;
  readonly container: string;
  readonly runId: string;
  /** Start order among the runs of one container: the newest is the current run, the one before `previous`. */
  readonly seq: number;
  readonly startedAt: string;
  readonly workingDir: string;
  readonly logPath: string;
  readonly memoryBytesMax: number | null;
  readonly cgroupDir: string | null;
  /** Set before the runtime SIGKILLs the run, so whoever sees the death knows why. */
  readonly killReason: 'Killed' | 'OOMKilled' | null;
  readonly exit: ContainerExit | null;
};

const exitReasons: readonly ExitReason[] = ['Completed', 'Error', 'OOMKilled', 'Killed', 'ContainerLost'];

/** Checks a record read back from disk (STYLE R11); a file that fails is ignored by the store. */
export function decodeRunRecord(value: unknown): Result<RunRecord, string> {
  if (!isJsonObject(value) || value['v'] !== 1) return err('not a version 1 run record');
  const pod = value['pod'];
  if (!isJsonObject(pod) || !isText(pod['namespace']) || !isText(pod['name']) || !isText(pod['uid'])) return err('pod must be a pod reference');
  for (const key of ['container', 'runId', 'startedAt', 'workingDir', 'logPath', 'bootId'] as const) {
    if (!isText(value[key])) return err(`${key} must be a string`);
  }
  for (const key of ['pid', 'startTicks', 'seq'] as const) {
    if (!isCount(value[key])) return err(`${key} must be a non-negative integer`);
  }
  if (value['memoryBytesMax'] !== null && !isCount(value['memoryBytesMax'])) return err('memoryBytesMax must be null or a count');
  if (value['cgroupDir'] !== null && !isText(value['cgroupDir'])) return err('cgroupDir must be null or a string');
  if (value['killReason'] !== null && value['killReason'] !== 'Killed' && value['killReason'] !== 'OOMKilled') return err('killReason must be null, Killed or OOMKilled');
  const exit = value['exit'];
  if (exit !== null && !(isJsonObject(exit) && isCount(exit['exitCode']) && exitReasons.includes(exit['reason'] as ExitReason) && isText(exit['message']) && isText(exit['at']))) {
    return err('exit must be null or an exit');
  }
  // Every field was checked above.
  return ok(value as unknown as RunRecord);
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Where run records and the shim's exit files live, and how they are written and read. */
export class RunRecordStore {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, 'runtime', 'runs');
    mkdirSync(this.#root, { recursive: true });
  }

  /** The file the shim writes the main process's exit status to, once it has ended. */
  exitFilePath(podUid: string, runId: string): string {
    return join(this.#root, podUid, `${runId}.exit`);
  }

  /** Makes the pod's record directory, where the shim must be able to write its exit file. */
  preparePod(podUid: string): void {
    mkdirSync(join(this.#root, podUid), { recursive: true });
  }

  /** Writes (or replaces) a record: temp file, fsync, rename, fsync the directory. */
  write(record: RunRecord): void {
    const dir = join(this.#root, record.pod.uid);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${record.runId}.json`);
    const temp = `${path}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    syncDirectory(dir);
  }

  /** Every readable record, oldest-started first; unreadable files and half-written temps are skipped. */
  loadAll(recordsMax: number): RunRecord[] {
    const records: RunRecord[] = [];
    for (const podUid of listNames(this.#root)) {
      for (const name of listNames(join(this.#root, podUid))) {
        if (!name.endsWith('.json')) continue;
        const decoded = decodeRunRecord(readJson(join(this.#root, podUid, name)));
        if (decoded.ok && records.length < recordsMax) records.push(decoded.value);
      }
    }
    return records.sort((a, b) => a.seq - b.seq);
  }

  /** The main process's exit code as the shim wrote it, if it did. */
  readExitCode(podUid: string, runId: string): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.exitFilePath(podUid, runId), 'utf8').trim();
    } catch {
      return undefined;
    }
    const code = Number(text);
    return text !== '' && Number.isInteger(code) && code >= 0 && code <= 255 ? code : undefined;
  }

  remove(podUid: string, runId: string): void {
    rmSync(join(this.#root, podUid, `${runId}.json`), { force: true });
    rmSync(this.exitFilePath(podUid, runId), { force: true });
  }

  removePod(podUid: string): void {
    rmSync(join(this.#root, podUid), { recursive: true, force: true });
  }
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

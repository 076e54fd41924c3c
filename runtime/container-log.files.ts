// Container log files: the child writes straight to <runId>.log (O_APPEND, so it keeps logging
// while the agent is down); the runtime rotates copytruncate-style and serves tail and follow reads.
import { copyFile, open, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** How much one read takes from a log file. */
const readChunkBytes = 64 * 1024;

/** `<runId>.log.<n>`, n = 1 the newest rotated file. */
export const rotatedPath = (logPath: string, n: number): string => `${logPath}.${n}`;

/** A follow read: when to stop (the run ended) and how often to look for new bytes. */
export type FollowOptions = { readonly hasEnded: () => boolean; readonly pollMs: number };

export type LogReadOptions = {
  readonly tailLines: number | null;
  /** Rotated files last written before this wall time are skipped whole (lines carry no timestamps). */
  readonly sinceMs: number | null;
  readonly follow: FollowOptions | null;
};

/**
 * Where a reader is. Each rotation starts a new era of the live file; the era that was live when
 * this object had counted `generation` rotations is now in `.(generation - era)`, so a reader
 * that fell behind a rotation finds the rest of what it was reading there, however the files
 * were renamed meanwhile.
 */
type Position = { readonly era: number; readonly offset: number };

type LogState = { generation: number; tail: Promise<void> };

/**
 * The log files of the runs of one runtime. Rotation and each read step of a reader take a
 * per-file turn, so a reader never sees a half-done rotation; no turn is held while a reader's
 * consumer is slow, so a slow `kubectl logs` never delays rotation.
 */
export class ContainerLogs {
  readonly #rotatedMax: number;
  readonly #logs = new Map<string, LogState>();

  constructor(rotatedMax: number) {
    this.#rotatedMax = rotatedMax;
  }

  /**
   * Rotates when the live file is over `bytesMax`: shift `.1…` up (dropping what would pass
   * `rotatedMax`), copy the live file to `.1`, truncate it. Because the child appends with
   * O_APPEND its next write lands at the new end; what it writes between copy and truncate is
   * lost (copytruncate's known gap, a few bytes at most at these sizes).
   */
  rotateIfOver(logPath: string, bytesMax: number): Promise<boolean> {
    return this.#exclusive(logPath, async (state) => {
      const size = await sizeOf(logPath);
      if (size <= bytesMax) return false;
      const max = this.#rotatedMax;
      if (max > 0) {
        await rm(rotatedPath(logPath, max), { force: true });
        for (let n = max - 1; n >= 1; n--) await rename(rotatedPath(logPath, n), rotatedPath(logPath, n + 1)).catch(() => undefined);
        await copyFile(logPath, rotatedPath(logPath, 1));
      }
      await truncate(logPath, 0);
      state.generation += 1;
      return true;
    });
  }

  /** Removes a run's live and rotated log files and forgets them. */
  async remove(logPath: string): Promise<void> {
    await this.#exclusive(logPath, async () => {
      const prefix = `${basename(logPath)}.`;
      const names = await readdir(dirname(logPath)).catch(() => [] as string[]);
      await rm(logPath, { force: true });
      for (const name of names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))) {
        await rm(join(dirname(logPath), name), { force: true });
      }
    });
    this.#logs.delete(logPath);
  }

  /** A Readable of a run's log: rotated files oldest first, then the live file, then (following) what is appended. */
  read(logPath: string, options: LogReadOptions): Readable {
    return Readable.from(this.#chunks(logPath, options), { objectMode: false });
  }

  async *#chunks(logPath: string, options: LogReadOptions): AsyncGenerator<Buffer> {
    let position = await this.#exclusive(logPath, (state) => this.#startOf(logPath, state.generation, options));
    for (;;) {
      // Read the end state before reading, so bytes written just before the end are still drained.
      const ended = options.follow === null || options.follow.hasEnded();
      const step = await this.#exclusive(logPath, (state) => this.#readStep(logPath, state.generation, position));
      position = step.next;
      if (step.chunk.length > 0) yield step.chunk;
      else if (ended) return;
      else await sleep(options.follow?.pollMs ?? 0);
    }
  }

  /** The next chunk after `position`: the rest of eras rotated away first, then the live file. */
  async #readStep(logPath: string, generation: number, position: Position): Promise<{ chunk: Buffer; next: Position }> {
    let { era, offset } = position;
    while (era < generation) {
      const index = generation - era;
      if (index <= this.#rotatedMax) {
        const chunk = await readChunk(rotatedPath(logPath, index), offset);
        if (chunk.length > 0) return { chunk, next: { era, offset: offset + chunk.length } };
      }
      era += 1;
      offset = 0;
    }
    // Shorter than where we were without a rotation of ours: truncated by hand; start again.
    if ((await sizeOf(logPath)) < offset) offset = 0;
    const chunk = await readChunk(logPath, offset);
    return { chunk, next: { era, offset: offset + chunk.length } };
  }

  /** Where a read starts: the oldest kept file, or where its last `tailLines` lines begin. */
  async #startOf(logPath: string, generation: number, options: LogReadOptions): Promise<Position> {
    const files: { path: string; era: number }[] = [];
    for (let index = this.#rotatedMax; index >= 0; index--) {
      const path = index === 0 ? logPath : rotatedPath(logPath, index);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) continue;
      if (index > 0 && options.sinceMs !== null && info.mtimeMs < options.sinceMs) continue;
      files.push({ path, era: generation - index });
    }
    if (options.tailLines === null) return { era: files[0]?.era ?? generation, offset: 0 };
    if (options.tailLines <= 0) return { era: generation, offset: await sizeOf(logPath) };
    let needed = options.tailLines;
    let holdsEnd = true;
    for (let i = files.length - 1; i >= 0; i--) {
      const file = files[i];
      if (file === undefined) continue;
      const found = await newlineFromEnd(file.path, needed, holdsEnd);
      if (found.offset !== undefined) return { era: file.era, offset: found.offset };
      needed -= found.count;
      holdsEnd = holdsEnd && found.size === 0;
    }
    return { era: files[0]?.era ?? generation, offset: 0 };
  }

  /** Runs `work` in this file's turn, after every rotation or read step queued before it. */
  #exclusive<T>(logPath: string, work: (state: LogState) => Promise<T>): Promise<T> {
    let state = this.#logs.get(logPath);
    if (state === undefined) {
      state = { generation: 0, tail: Promise.resolve() };
      this.#logs.set(logPath, state);
    }
    const current = state;
    const result = current.tail.then(() => work(current));
    current.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const sizeOf = (path: string): Promise<number> => stat(path).then((s) => s.size, () => 0);

/** Up to `readChunkBytes` of a file from `offset`; empty at its end or when it does not exist. */
async function readChunk(path: string, offset: number): Promise<Buffer> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return Buffer.alloc(0);
  try {
    const buffer = Buffer.alloc(readChunkBytes);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Scans one file backwards for the `needed`-th newline; ignores a trailing newline when this holds the log's end. */
async function newlineFromEnd(path: string, needed: number, holdsEnd: boolean): Promise<{ offset?: number; count: number; size: number }> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return { count: 0, size: 0 };
  try {
    const size = (await handle.stat()).size;
    let end = size;
    let count = 0;
    let skipFinal = holdsEnd;
    while (end > 0) {
      const start = Math.max(0, end - readChunkBytes);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      for (let j = buffer.length - 1; j >= 0; j--) {
        if (buffer[j] !== 0x0a) continue;
        if (skipFinal && start + j === size - 1) continue;
        count += 1;
        if (count === needed) return { offset: start + j + 1, count, size };
      }
      skipFinal = false;
      end = start;
    }
    return { count, size };
  } finally {
    await handle.close();
  }
}

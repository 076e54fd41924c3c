// Durability and atomicity under a real crash. Method: given a child process appending batches to
// a journal, when it is SIGKILLed at an arbitrary moment, then every append it saw resolve is
// present, and every append is present entirely or not at all, with gap-free versions.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteJournal } from './sqlite.event-store.js';
import type { RecordedEvent } from './event-store.port.js';

const batchSize = 5;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-crash-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has reported `killAfter` committed batches, then SIGKILLs it. */
function runWriterAndKill(path: string, killAfter: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-writer.testing.ts'), path, String(batchSize)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let lastCommitted = -1;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^committed (\d+)$/.exec(line);
      if (!match) return;
      lastCommitted = Number(match[1]);
      if (lastCommitted + 1 >= killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(lastCommitted) : reject(new Error(`writer exited ${code}`))));
  });
}

it.each([40, 137, 400])('after a SIGKILL at batch ~%i nothing acknowledged is lost and no append is partial', async (killAfter) => {
  const path = join(dir, 'journal.db');
  const lastAcknowledged = await runWriterAndKill(path, killAfter);
  expect(lastAcknowledged).toBeGreaterThanOrEqual(killAfter - 1);

  const opened = openSqliteJournal(path, { readonly: true });
  expect(opened.ok).toBe(true);
  if (!opened.ok) return;
  const byBatch = new Map<number, RecordedEvent[]>();
  for await (const event of opened.value.readAll()) {
    const batch = (event.data as { batch: number }).batch;
    byBatch.set(batch, [...(byBatch.get(batch) ?? []), event]);
  }
  for (let batch = 0; batch <= lastAcknowledged; batch++) expect(byBatch.has(batch)).toBe(true);
  for (const [batch, events] of byBatch) {
    expect(events.map((e) => (e.data as { index: number }).index), `batch ${batch}`).toEqual([0, 1, 2, 3, 4]);
    const first = events[0]!.version;
    expect(events.map((e) => e.version)).toEqual([first, first + 1, first + 2, first + 3, first + 4]);
  }
  for await (const summary of opened.value.listStreams()) {
    const versions: number[] = [];
    for await (const e of opened.value.readStream(summary.stream)) versions.push(e.version);
    expect(versions).toEqual(Array.from({ length: summary.version }, (_, i) => i + 1));
  }
  await opened.value.close();
});

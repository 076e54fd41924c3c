// The SQLite adapter against the shared contract, on a real WAL file in a temp dir, with a second
// real connection for the concurrency and cross-connection cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventStoreContract } from './event-store.contract.js';
import { openSqliteJournal } from './sqlite.event-store.js';

eventStoreContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehive-contract-'));
    const path = join(dir, 'journal.db');
    const open = () => {
      const opened = openSqliteJournal(path, { pollIntervalMs: 20 });
      if (!opened.ok) throw new Error(opened.error.kind);
      return opened.value;
    };
    const store = open();
    const others: { close(): Promise<void> }[] = [];
    return {
      store,
      connectAgain: () => {
        const other = open();
        others.push(other);
        return Promise.resolve(other);
      },
      cleanup: async () => {
        for (const other of others) await other.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { densePositions: true },
);

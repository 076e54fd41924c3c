// The EventStoreDB adapter against the shared contract, on a real server named by ESDB_URL, with
// a second real client for the concurrency and cross-connection cases. Method: without ESDB_URL
// the contract is one skipped describe that says how to run it; the opening test always runs and
// proves the adapter drives the real client, by asking a port where nobody listens.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { eventStoreContract } from './event-store.contract.js';
import { describeEsdbOpenError, openEsdbJournal, type EsdbEventStore } from './esdb.event-store.js';

const url = process.env.ESDB_URL;

const openOrThrow = async (connectionString: string): Promise<EsdbEventStore> => {
  const opened = await openEsdbJournal(connectionString);
  if (!opened.ok) throw new Error(describeEsdbOpenError(opened.error));
  return opened.value;
};

/** A loopback port that was free a moment ago: bound by us, then released. */
const unusedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

describe.skipIf(!url)(
  url ? 'EventStoreDB contract against ESDB_URL' : 'EventStoreDB contract (skipped: set ESDB_URL=esdb://host:2113?tls=false to run)',
  () => {
    eventStoreContract(
      'eventstoredb',
      async () => {
        const connectionString = url ?? '';
        const store = await openOrThrow(connectionString);
        const others: EsdbEventStore[] = [];
        return {
          store,
          connectAgain: async () => {
            const other = await openOrThrow(connectionString);
            others.push(other);
            return other;
          },
          // Streams are unique per test (random prefix), so nothing on the server needs deleting.
          cleanup: async () => {
            for (const other of others) await other.close();
            await store.close();
          },
        };
      },
      { densePositions: false },
    );
  },
);

describe('opening an EventStoreDB journal', () => {
  it('reports a server nobody answers for as a typed EsdbUnreachable error, within its deadline', async () => {
    const port = await unusedPort();
    const openDeadlineMs = 3_000;
    const started = performance.now();
    const opened = await openEsdbJournal(`esdb://127.0.0.1:${port}?tls=false`, { openDeadlineMs });
    const elapsedMs = performance.now() - started;
    expect(opened).toMatchObject({ ok: false, error: { kind: 'EsdbUnreachable', url: `esdb://127.0.0.1:${port}?tls=false` } });
    expect(elapsedMs).toBeLessThan(openDeadlineMs + 2_000);
    if (!opened.ok) expect(describeEsdbOpenError(opened.error)).toContain(`127.0.0.1:${port}`);
  });

  it('reports a malformed connection string as EsdbBadConnectionString, without its credentials', async () => {
    const opened = await openEsdbJournal('esdb://admin:secret@127.0.0.1:notaport?tls=false', { openDeadlineMs: 1_000 });
    expect(opened).toMatchObject({ ok: false, error: { kind: 'EsdbBadConnectionString' } });
    if (!opened.ok) expect(opened.error.url).not.toContain('secret');
  });
});

// The in-memory store against the shared contract: it is the model the properties trust.
import { eventStoreContract } from './event-store.contract.js';
import { MemoryEventStore } from './memory.event-store.js';

eventStoreContract(
  'memory',
  async () => {
    const store = new MemoryEventStore();
    return { store, connectAgain: () => Promise.resolve(store), cleanup: () => store.close() };
  },
  { densePositions: true },
);

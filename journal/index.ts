// The journal's door: the event-store port, its adapters and the errors they return.
export {
  type EventStore,
  type StreamId,
  type EventMeta,
  type NewEvent,
  type RecordedEvent,
  type ExpectedVersion,
  type WrongExpectedVersion,
  type AppendResult,
  type SnapshotRecord,
  type StreamSummary,
  type CompactionReport,
  type ReadRange,
  type PositionRange,
  eventsPerAppendMax,
} from './event-store.port.js';
export { MemoryEventStore } from './memory.event-store.js';
export {
  openSqliteJournal,
  SqliteEventStore,
  type SqliteJournalOptions,
  type StreamAppend,
  type StreamAppended,
} from './sqlite.event-store.js';
export { type JournalOpenError, describeJournalOpenError } from './journal-errors.js';
export {
  openEsdbJournal,
  EsdbEventStore,
  describeEsdbOpenError,
  type EsdbOpenError,
  type EsdbJournalOptions,
} from './esdb.event-store.js';

// `edgehive replay`: rebuilds any actor's state from a journal at any point and prints its
// transitions as a timeline, or follows a live journal. Reads only; never writes the journal.
import { createActor, type AnyStateMachine } from 'xstate';
import { foldEvent, initialSnapshot, kindOfStream, type AnyActorKind } from '../../actors/index.js';
import {
  describeJournalOpenError,
  openSqliteJournal,
  type RecordedEvent,
  type SqliteEventStore,
  type StreamSummary,
} from '../../journal/index.js';
import { err, ok, type Result } from '../../kernel/index.js';
import { eventFact, madeSoByLines, type Basis, type EventFact } from './made-so-by.js';
import { redactSecrets } from './redact.js';
import { byCreation, describeSelector, matchStreams, noMatchMessage, parseSelector, type Incarnation, type Selector } from './select.js';

export interface ReplayOptions {
  readonly path: string;
  readonly stream?: string;
  /** Select by name instead of by stream id: a node, `NS/NAME` of a pod, `NS/NAME` of a twin (device). */
  readonly node?: string;
  readonly pod?: string;
  readonly twin?: string;
  readonly until?: string;
  readonly json: boolean;
  readonly follow: boolean;
}

export interface ReplayIo {
  out(line: string): void;
  err(line: string): void;
}

type Until = { readonly version: number } | { readonly time: number };
type Snapshot = ReturnType<typeof initialSnapshot<AnyStateMachine>>;

/** Parses `--until`: a stream version (an integer) or an ISO 8601 time. */
export function parseUntil(text: string | undefined): Result<Until | undefined, string> {
  if (text === undefined) return ok(undefined);
  if (/^\d+$/.test(text)) return ok({ version: Number(text) });
  const time = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(time)) return ok({ time });
  return err(`--until takes a stream version (e.g. 12) or an ISO 8601 time (e.g. 2026-11-01T10:00:00Z), not '${text}'`);
}

const isBefore = (event: RecordedEvent, until: Until | undefined): boolean =>
  until === undefined || ('version' in until ? event.version <= until.version : Date.parse(event.meta.at) <= until.time);

const statusOf = (kind: AnyActorKind | undefined, snapshot: Snapshot | undefined): string =>
  kind === undefined || snapshot === undefined ? '-' : String((kind.stateOf(snapshot) as { status: string }).status);

/** Runs the command; resolves to the process exit code. `stop` ends `--follow`. */
export async function runReplay(options: ReplayOptions, io: ReplayIo, stop?: AbortSignal): Promise<number> {
  const until = parseUntil(options.until);
  if (!until.ok) return fail(io, until.error);
  if (options.follow && until.value !== undefined) return fail(io, '--follow and --until cannot be combined');
  const selector = parseSelector(options);
  if (!selector.ok) return fail(io, selector.error);
  const opened = openSqliteJournal(options.path, { readonly: true, pollIntervalMs: 100 });
  if (!opened.ok) return fail(io, describeJournalOpenError(opened.error));
  const store = opened.value;
  try {
    const printed = selector.value === undefined ? await printStreams(store, options, until.value, io) : await printSelected(store, selector.value, options, until.value, io);
    if (!printed.ok) return fail(io, printed.error);
    if (options.follow) await follow(store, options, printed.value, io, stop);
    return 0;
  } finally {
    await store.close();
  }
}

function fail(io: ReplayIo, message: string): number {
  io.err(`edgehive replay: ${message}`);
  return 1;
}

interface Followed {
  /** The one stream followed, or undefined for all of them. */
  readonly stream?: string;
  readonly lastPosition: bigint;
  readonly snapshots: Map<string, Snapshot>;
}

interface Folded {
  readonly kind: AnyActorKind | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly startsAfter: number;
  readonly rows: readonly { readonly event: RecordedEvent; readonly status: string }[];
  /** The first event after `until`, when replay stopped before the head. */
  readonly next: RecordedEvent | undefined;
  readonly lastPosition: bigint;
}

/** Folds one stream up to `until`, from its snapshot when older history was compacted. */
async function foldStream(store: SqliteEventStore, summary: StreamSummary, until: Until | undefined): Promise<Result<Folded, string>> {
  const kind = kindOfStream(summary.stream);
  let snapshot: Snapshot | undefined = kind === undefined ? undefined : initialSnapshot(kind.machine);
  let startsAfter = 0;
  if (summary.compactedThrough > 0) {
    const stored = await store.loadSnapshot(summary.stream);
    if (stored === undefined) return err(`stream ${summary.stream} was compacted through v${summary.compactedThrough} but has no snapshot`);
    if (until !== undefined && 'version' in until && until.version < stored.version) {
      return err(`cannot rebuild ${summary.stream} at v${until.version}: history through v${summary.compactedThrough} was compacted (earliest state: v${stored.version})`);
    }
    const machine = (stored.state as { machine?: unknown }).machine;
    snapshot = kind === undefined ? undefined : restore(kind, machine);
    startsAfter = stored.version;
  }
  const rows: { event: RecordedEvent; status: string }[] = [];
  let lastPosition = 0n;
  let next: RecordedEvent | undefined;
  for await (const event of store.readStream(summary.stream, { from: startsAfter + 1 })) {
    if (!isBefore(event, until)) {
      next = event;
      break;
    }
    if (kind !== undefined && snapshot !== undefined) {
      const decoded = kind.decodeEvent(event.type, event.data);
      if (!decoded.ok) return err(`${summary.stream} v${event.version}: cannot read ${event.type}: ${decoded.error.detail}`);
      snapshot = foldEvent(kind.machine, snapshot, decoded.value);
    }
    rows.push({ event, status: statusOf(kind, snapshot) });
    lastPosition = event.position;
  }
  return ok({ kind, snapshot, startsAfter, rows, next, lastPosition });
}

/** Restores a persisted snapshot through an actor that is never started, so no effect runs. */
const restore = (kind: AnyActorKind, persisted: unknown): Snapshot =>
  createActor(kind.machine, { snapshot: persisted as never }).getSnapshot() as Snapshot;

async function printStreams(store: SqliteEventStore, options: ReplayOptions, until: Until | undefined, io: ReplayIo): Promise<Result<Followed, string>> {
  const listed: { summary: StreamSummary; folded: Folded }[] = [];
  const snapshots = new Map<string, Snapshot>();
  let lastPosition = 0n;
  for await (const summary of store.listStreams()) {
    const folded = await foldStream(store, summary, until);
    if (!folded.ok) return folded;
    listed.push({ summary, folded: folded.value });
    if (folded.value.snapshot !== undefined) snapshots.set(summary.stream, folded.value.snapshot);
    if (folded.value.lastPosition > lastPosition) lastPosition = folded.value.lastPosition;
  }
  if (options.json) {
    io.out(JSON.stringify({
      journal: options.path,
      journalId: store.journalId,
      streams: listed.map(({ summary, folded }) => ({
        stream: summary.stream,
        kind: folded.kind?.name ?? null,
        version: summary.version,
        compactedThrough: summary.compactedThrough,
        status: statusOf(folded.kind, folded.snapshot),
      })),
    }));
  } else {
    io.out(`journal ${options.path} (id ${store.journalId}), ${listed.length} streams`);
    io.out(['STREAM', 'KIND', 'VERSION', 'HISTORY', 'STATUS'].join('\t'));
    for (const { summary, folded } of listed) {
      const history = summary.compactedThrough > 0 ? `from v${summary.compactedThrough + 1}` : 'complete';
      io.out([summary.stream, folded.kind?.name ?? '-', `v${summary.version}`, history, statusOf(folded.kind, folded.snapshot)].join('\t'));
    }
  }
  return ok({ lastPosition: await headPosition(store, lastPosition), snapshots });
}

/** One incarnation of the selected object, as the listing shows it. */
interface IncarnationRow extends Incarnation {
  readonly version: number;
  readonly status: string;
}

/** Finds the stream(s) the selector names and prints the newest; several incarnations are listed first. */
async function printSelected(store: SqliteEventStore, selector: Selector, options: ReplayOptions, until: Until | undefined, io: ReplayIo): Promise<Result<Followed, string>> {
  const summaries: StreamSummary[] = [];
  if (selector.kind === 'stream') {
    const summary = await store.streamSummary(selector.stream);
    if (summary !== undefined) summaries.push(summary);
  } else {
    for await (const summary of store.listStreams()) summaries.push(summary);
  }
  const matched = matchStreams(selector, summaries.map((s) => s.stream));
  if (matched.length === 0) return err(noMatchMessage(selector, options.path, summaries.map((s) => s.stream)));
  const rows: IncarnationRow[] = [];
  for (const { stream, uid } of matched) {
    const summary = summaries.find((s) => s.stream === stream);
    if (summary === undefined) continue;
    const folded = await foldStream(store, summary, until);
    if (!folded.ok) return folded;
    rows.push({ stream, uid, firstPosition: await firstPosition(store, summary), version: summary.version, status: statusOf(folded.value.kind, folded.value.snapshot) });
  }
  const ordered = byCreation(rows);
  const chosen = ordered.at(-1);
  if (chosen === undefined) return err(noMatchMessage(selector, options.path, []));
  if (!options.json && ordered.length > 1) {
    io.out(`${describeSelector(selector)}: ${ordered.length} incarnations, oldest first; showing the newest (another: --stream <id>)`);
    for (const row of ordered) io.out(['  uid', row.uid ?? '-', row.stream, `v${row.version}`, row.status, ...(row === chosen ? ['← shown'] : [])].join('  '));
  }
  const selection = { selectedBy: describeSelector(selector), incarnations: ordered.map(({ stream, uid, version, status }) => ({ stream, uid, version, status })) };
  return printTimeline(store, chosen.stream, options, until, io, selection);
}

/** The position of a stream's oldest event still held, which orders incarnations by creation. */
async function firstPosition(store: SqliteEventStore, summary: StreamSummary): Promise<bigint> {
  for await (const event of store.readStream(summary.stream, { from: summary.compactedThrough + 1, to: summary.compactedThrough + 1 })) return event.position;
  return 0n;
}

interface Selection {
  readonly selectedBy: string;
  readonly incarnations: readonly { readonly stream: string; readonly uid: string | null; readonly version: number; readonly status: string }[];
}

async function printTimeline(store: SqliteEventStore, stream: string, options: ReplayOptions, until: Until | undefined, io: ReplayIo, selection: Selection): Promise<Result<Followed, string>> {
  const summary = await store.streamSummary(stream);
  if (summary === undefined) return err(`no stream '${stream}' in ${options.path} (run without --stream to list them)`);
  const folded = await foldStream(store, summary, until);
  if (!folded.ok) return folded;
  const { kind, snapshot, startsAfter, rows, next } = folded.value;
  const state = kind === undefined || snapshot === undefined ? null : redactSecrets(kind.stateOf(snapshot));
  const last = rows.at(-1)?.event;
  const atVersion = last?.version ?? startsAfter;
  const basis: Basis = last !== undefined ? { kind: 'event', fact: eventFact(last) } : startsAfter > 0 ? { kind: 'snapshot', version: startsAfter } : { kind: 'nothing' };
  const then: EventFact | undefined = next === undefined ? undefined : eventFact(next);
  if (options.json) {
    io.out(JSON.stringify({
      stream,
      kind: kind?.name ?? null,
      ...selection,
      compactedThrough: summary.compactedThrough,
      startsFromSnapshotAt: startsAfter > 0 ? startsAfter : null,
      events: rows.map(({ event, status }) => ({ version: event.version, position: String(event.position), at: event.meta.at, type: event.type, data: redactSecrets(event.data), status })),
      version: atVersion,
      state,
      machine: kind === undefined || snapshot === undefined ? null : redactSecrets(kind.machine.getPersistedSnapshot(snapshot)),
      madeSoBy: basis.kind === 'event' ? basis.fact : null,
      then: then ?? null,
    }));
  } else {
    io.out(`stream ${stream} (${kind?.name ?? 'unknown kind'}), v${summary.version}`);
    if (startsAfter > 0) io.out(`history through v${summary.compactedThrough} was compacted; rebuilt from the snapshot at v${startsAfter}`);
    for (const { event, status } of rows) io.out(timelineLine(event, status, false));
    io.out(`state at v${atVersion}: ${JSON.stringify(state)}`);
    for (const line of madeSoByLines(basis, then, until !== undefined)) io.out(line);
  }
  const snapshots = new Map<string, Snapshot>();
  if (snapshot !== undefined) snapshots.set(stream, snapshot);
  return ok({ stream, lastPosition: await headPosition(store, folded.value.lastPosition), snapshots });
}

const timelineLine = (event: RecordedEvent, status: string, withStream: boolean): string =>
  [event.meta.at, ...(withStream ? [event.stream] : []), `v${event.version}`, event.type, `→ ${status}`].join('  ');

/** The newest position in the journal, so following starts after everything already shown. */
const headPosition = (store: SqliteEventStore, atLeast: bigint): Promise<bigint> =>
  Promise.resolve(store.lastPosition > atLeast ? store.lastPosition : atLeast);

async function follow(store: SqliteEventStore, options: ReplayOptions, from: Followed, io: ReplayIo, stop?: AbortSignal): Promise<void> {
  if (!options.json) io.out(`following ${options.path} (Ctrl-C to stop)`);
  await new Promise<void>((resolve, reject) => {
    const subscription = store.subscribe({ fromPosition: from.lastPosition + 1n }).subscribe({
      next: (event) => {
        if (from.stream !== undefined && event.stream !== from.stream) return;
        const kind = kindOfStream(event.stream);
        let snapshot = from.snapshots.get(event.stream) ?? (kind === undefined ? undefined : initialSnapshot(kind.machine));
        if (kind !== undefined && snapshot !== undefined) {
          const decoded = kind.decodeEvent(event.type, event.data);
          if (decoded.ok) snapshot = foldEvent(kind.machine, snapshot, decoded.value);
          from.snapshots.set(event.stream, snapshot);
        }
        const status = statusOf(kind, snapshot);
        io.out(options.json ? JSON.stringify({ stream: event.stream, version: event.version, position: String(event.position), at: event.meta.at, type: event.type, data: redactSecrets(event.data), status }) : timelineLine(event, status, true));
      },
      error: reject,
      complete: resolve,
    });
    stop?.addEventListener('abort', () => {
      subscription.unsubscribe();
      resolve();
    }, { once: true });
  });
}

// The cloud host's own journal: one node link actor per edge node (actors/link), recording each
// link, close and decommissioning of its stream as the cloud saw them, so `edgehive replay` on this
// journal explains a node's connection history. SQLite in <dataDir>/cloud/journal.db by default;
// `--journal sqlite:FILE` or `--journal esdb://…` (EventStoreDB, for clouds of several processes).
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ActorHost, linkKind, linkStream, type JournaledActor, type LinkCommand, type LinkEvent, type LinkRejection, type LinkState } from '../../actors/index.js';
import { describeEsdbOpenError, describeJournalOpenError, openEsdbJournal, openSqliteJournal, type EventStore } from '../../journal/index.js';
import { err, ok, randomIds, systemClock, type Result } from '../../kernel/index.js';

/** Where the cloud journal lives, as `--journal` names it. */
export type CloudJournalTarget = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'esdb'; readonly url: string };

/** `--journal`: absent → SQLite in the data dir; `sqlite:FILE`; `esdb://…` or `esdb+discover://…`. */
export function parseJournalTarget(text: string | undefined, dataDir: string): Result<CloudJournalTarget, string> {
  if (text === undefined) return ok({ kind: 'sqlite', path: join(dataDir, 'cloud', 'journal.db') });
  if (text.startsWith('sqlite:') && text.length > 'sqlite:'.length) return ok({ kind: 'sqlite', path: resolve(text.slice('sqlite:'.length)) });
  if (/^esdb(\+discover)?:\/\/./.test(text)) return ok({ kind: 'esdb', url: text });
  return err(`--journal takes sqlite:FILE or esdb://HOST:PORT?…, got '${text}'`);
}

/** Opens the journal a target names; a foreign or corrupt file, or an unreachable server, is a clear error. */
export async function openCloudJournal(target: CloudJournalTarget): Promise<Result<EventStore, string>> {
  if (target.kind === 'sqlite') {
    const opened = openSqliteJournal(target.path);
    return opened.ok ? ok(opened.value) : err(describeJournalOpenError(opened.error));
  }
  const opened = await openEsdbJournal(target.url);
  return opened.ok ? ok(opened.value) : err(describeEsdbOpenError(opened.error));
}

type LinkActor = JournaledActor<typeof linkKind.machine, LinkEvent, LinkCommand, LinkRejection, LinkState>;

/**
 * Records hub observations into each node's link actor, one command at a time per node. A write
 * that meets another writer (another cloud process on a shared EventStoreDB took the node) starts
 * the actor again from the journal and tries once more; a journal failure (a refused command or a
 * store that throws) is logged, never raised:
 * the link history is for explaining, and serving the edge comes first.
 */
export class CloudLinkRecorder {
  readonly #host: ActorHost;
  readonly #log: Logger;
  readonly #actors = new Map<string, Promise<LinkActor | undefined>>();
  readonly #chains = new Map<string, Promise<void>>();

  constructor(store: EventStore, log: Logger) {
    this.#host = new ActorHost({ store, clock: systemClock, ids: randomIds, origin: 'cloud' });
    this.#log = log;
  }

  /** Records `command` for `nodeName` after the commands before it. */
  record(nodeName: string, command: LinkCommand): Promise<void> {
    const before = this.#chains.get(nodeName) ?? Promise.resolve();
    // A journal that throws (EventStoreDB gone, a disk error) is logged; the next command starts afresh.
    const next = before.then(() => this.#execute(nodeName, command)).catch((error: unknown) => {
      this.#actors.delete(nodeName);
      this.#log.warn({ node: nodeName, error: (error as Error).message }, 'node link not journaled');
    });
    this.#chains.set(nodeName, next);
    void next.then(() => {
      if (this.#chains.get(nodeName) === next) this.#chains.delete(nodeName);
    });
    return next;
  }

  /** Waits for every command recorded so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.#chains.values()]);
  }

  async #execute(nodeName: string, command: LinkCommand): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const actor = await this.#actor(nodeName);
      if (actor === undefined) return;
      const executed = await actor.execute(command);
      if (executed.ok) return;
      this.#actors.delete(nodeName);
      actor.stop();
      if (executed.error.kind !== 'WrongExpectedVersion') {
        this.#log.warn({ node: nodeName, error: executed.error }, 'node link not journaled');
        return;
      }
    }
  }

  #actor(nodeName: string): Promise<LinkActor | undefined> {
    let actor = this.#actors.get(nodeName);
    if (actor === undefined) {
      actor = this.#host.start(linkKind, linkStream(nodeName), {}).then((started) => {
        if (started.ok) return started.value;
        this.#log.warn({ node: nodeName, error: started.error }, 'node link actor not started');
        this.#actors.delete(nodeName);
        return undefined;
      });
      this.#actors.set(nodeName, actor);
    }
    return actor;
  }
}

// Catch up, then follow: turns "read a batch after position p" plus "something may have changed"
// signals into one gap-free, repeat-free Observable in position order.
import { Observable } from 'rxjs';
import { invariant } from '../kernel/index.js';
import type { RecordedEvent } from './event-store.port.js';

export interface FollowLogSource {
  /** Position already seen; the first event delivered is the first one after it. */
  readonly after: bigint;
  /** Up to `limit` events with position > `after`, in position order. */
  readBatch(after: bigint, limit: number): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]>;
  /** Fires when new events may exist; completing it ends the subscription after a final drain. */
  readonly changes: Observable<unknown>;
  readonly batchEventsMax?: number;
}

export function followLog(source: FollowLogSource): Observable<RecordedEvent> {
  const batchEventsMax = source.batchEventsMax ?? 500;
  return new Observable<RecordedEvent>((subscriber) => {
    let last = source.after;
    let draining = false;
    let drainAgain = false;
    let completeAfterDrain = false;

    const drain = async (): Promise<void> => {
      if (draining) {
        drainAgain = true;
        return;
      }
      draining = true;
      try {
        do {
          drainAgain = false;
          for (;;) {
            const batch = await source.readBatch(last, batchEventsMax);
            for (const event of batch) {
              if (subscriber.closed) return;
              invariant(event.position > last, 'a followed log never goes back');
              last = event.position;
              subscriber.next(event);
            }
            if (batch.length < batchEventsMax) break;
          }
        } while (drainAgain && !subscriber.closed);
        if (completeAfterDrain) subscriber.complete();
      } catch (error) {
        subscriber.error(error);
      } finally {
        draining = false;
      }
    };

    const changes = source.changes.subscribe({
      next: () => void drain(),
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        completeAfterDrain = true;
        void drain();
      },
    });
    void drain();
    return () => changes.unsubscribe();
  });
}

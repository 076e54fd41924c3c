// DecisionQueue: decisions run in the order they were pushed, one at a time, asynchronous ones
// holding the rest; decisions pushed while one runs go behind those already queued; a failure is
// reported and the queue goes on. Method: a recording executor, awaiting settled().
import { describe, expect, it } from 'vitest';
import { DecisionQueue } from './decision-queue.js';

describe('DecisionQueue', () => {
  it('given decisions pushed together, runs none of them before the pushing code returns, then all in order', async () => {
    const ran: string[] = [];
    const queue = new DecisionQueue<string>((d) => void ran.push(d), () => undefined);
    queue.push('a');
    queue.push('b');
    expect(ran).toEqual([]);
    await queue.settled();
    expect(ran).toEqual(['a', 'b']);
  });

  it('holds later decisions until an asynchronous one settles, and queues what a decision pushes behind the rest', async () => {
    const ran: string[] = [];
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue: DecisionQueue<string> = new DecisionQueue<string>((d) => {
      ran.push(`start ${d}`);
      if (d === 'slow') return gate.then(() => void ran.push('end slow'));
      if (d === 'a') queue.push('pushed by a');
      return undefined;
    }, () => undefined);
    queue.push('a');
    queue.push('slow');
    queue.push('b');
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(['start a', 'start slow']);
    release();
    await queue.settled();
    expect(ran).toEqual(['start a', 'start slow', 'end slow', 'start b', 'start pushed by a']);
  });

  it('reports a failed decision, synchronous or not, and goes on with the next', async () => {
    const ran: string[] = [];
    const failures: string[] = [];
    const queue = new DecisionQueue<string>(
      (d) => {
        if (d === 'throws') throw new Error('sync failure');
        if (d === 'rejects') return Promise.reject(new Error('async failure'));
        ran.push(d);
        return undefined;
      },
      (error) => failures.push((error as Error).message),
    );
    for (const d of ['a', 'throws', 'b', 'rejects', 'c']) queue.push(d);
    await queue.settled();
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(failures).toEqual(['sync failure', 'async failure']);
  });

  it('is idle again after draining, and starts anew on the next push', async () => {
    const ran: number[] = [];
    const queue = new DecisionQueue<number>((d) => void ran.push(d), () => undefined);
    queue.push(1);
    await queue.settled();
    queue.push(2);
    await queue.settled();
    expect(ran).toEqual([1, 2]);
  });
});

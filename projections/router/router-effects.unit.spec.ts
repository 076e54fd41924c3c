// The router effects' delivery policy, without sockets: a fake `post` answers from a script, sleeps
// and the monotonic clock are the spec's own. Method: per situation, the attempts made and the
// outcomes counted, given/when/then.
import { describe, expect, it } from 'vitest';
import { uploadEventOf } from '../../transport/index.js';
import { DELIVERY_ATTEMPTS_MAX, FAILING_TARGET_COOLDOWN_MS, RouterEffects } from './router-effects.js';
import { ruleEndpointOf, ruleOf, type RouterTable } from './router-rules.js';
import type { DeliveryOutcome } from './rule-status.js';

const URL_A = 'http://app.test/a';
const table: RouterTable = {
  endpoints: new Map([
    ['default/bus', ruleEndpointOf({ metadata: { name: 'bus', namespace: 'default' }, spec: { ruleEndpointType: 'eventbus' } })!],
    ['default/rest', ruleEndpointOf({ metadata: { name: 'rest', namespace: 'default' }, spec: { ruleEndpointType: 'rest' } })!],
  ]),
  rules: new Map([['default/r', ruleOf({ metadata: { name: 'r', namespace: 'default' }, spec: { source: 'bus', sourceResource: { topic: 't', node_name: 'edge-1' }, target: 'rest', targetResource: { resource: URL_A } } })!]]),
};

function effectsAnswering(statuses: () => number | 'down') {
  let nowMs = 0;
  const attempts: string[] = [];
  const counted: DeliveryOutcome[] = [];
  const effects = new RouterEffects({
    table: () => table,
    count: (_rule, outcome) => counted.push(outcome),
    log: { info: () => undefined, warn: () => undefined },
    sleep: () => Promise.resolve(),
    monotonicMs: () => nowMs,
    post: ((_url: string, init: RequestInit) => {
      attempts.push(String(init.body));
      const status = statuses();
      return status === 'down' ? Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })) : Promise.resolve(new Response(null, { status }));
    }) as typeof fetch,
  });
  const upload = (seq: number, text: string) => {
    const event = uploadEventOf('$hw/events/upload/t', Buffer.from(text));
    if (!event.ok) throw new Error(event.error);
    return effects.perform('edge-1', 'j', seq, event.value);
  };
  return { upload, attempts, counted, advance: (ms: number) => void (nowMs += ms) };
}

describe('given a target that is down', () => {
  it('the first upload is tried DELIVERY_ATTEMPTS_MAX times, the next ones once each until the cool-down ends', async () => {
    const world = effectsAnswering(() => 'down');
    await world.upload(1, 'one');
    await world.upload(2, 'two');
    world.advance(FAILING_TARGET_COOLDOWN_MS - 1);
    await world.upload(3, 'three');
    world.advance(1);
    await world.upload(4, 'four');
    expect(world.attempts).toEqual([...Array<string>(DELIVERY_ATTEMPTS_MAX).fill('one'), 'two', 'three', ...Array<string>(DELIVERY_ATTEMPTS_MAX).fill('four')]);
    expect(world.counted).toEqual([1, 2, 3, 4].map(() => ({ ok: false, error: `POST ${URL_A}: connect ECONNREFUSED` })));
  });
});

describe('given a target that comes back', () => {
  it('a success ends the cool-down at once', async () => {
    let down = true;
    const world = effectsAnswering(() => (down ? 'down' : 200));
    await world.upload(1, 'one');
    down = false;
    await world.upload(2, 'two');
    down = true;
    await world.upload(3, 'three');
    expect(world.attempts).toEqual([...Array<string>(DELIVERY_ATTEMPTS_MAX).fill('one'), 'two', ...Array<string>(DELIVERY_ATTEMPTS_MAX).fill('three')]);
    expect(world.counted.map((o) => o.ok)).toEqual([false, true, false]);
  });
});

describe('given a target that refuses a message (4xx)', () => {
  it('asks once, counts the refusal, and keeps trying later messages in full', async () => {
    const world = effectsAnswering(() => 422);
    await world.upload(1, 'one');
    await world.upload(2, 'two');
    expect(world.attempts).toEqual(['one', 'two']);
    expect(world.counted).toEqual([{ ok: false, error: `POST ${URL_A}: answered 422` }, { ok: false, error: `POST ${URL_A}: answered 422` }]);
  });
});

describe('given uploads of other nodes or topics, or a malformed one', () => {
  it('posts nothing and resolves at once', async () => {
    const world = effectsAnswering(() => 200);
    const effects = new RouterEffects({ table: () => table, count: () => undefined, log: { info: () => undefined, warn: () => undefined }, post: (() => Promise.reject(new Error('no post expected'))) as typeof fetch });
    await effects.perform('edge-1', 'j', 1, { type: 'EventBusUploaded.v1', data: { topic: 'x' } });
    await effects.perform('edge-2', 'j', 2, { type: 'EventBusUploaded.v1', data: { topic: '$hw/events/upload/t', payload: 'x' } });
    expect(effects.handles('EventBusUploaded.v1')).toBe(true);
    expect(effects.handles('TwinReported.v1')).toBe(false);
    expect(world.attempts).toEqual([]);
  });
});

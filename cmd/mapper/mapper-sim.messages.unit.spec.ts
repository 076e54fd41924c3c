// Method: payloads are written as the edge's EventBus sends them (kubeedge-reference.md §5.3–5.4)
// and as broken senders might; each is read and the answer compared, and nothing may throw.
import { describe, expect, it } from 'vitest';
import { parseEdgeAnswer, stateUpdateMessage, twinGetMessage, twinUpdateMessage, type EdgeAnswerKind } from './mapper-sim.messages.js';

const bytesMax = 64 * 1024;
const bytes = (value: unknown): Uint8Array => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const read = (kind: EdgeAnswerKind, value: unknown) => parseEdgeAnswer(kind, bytes(value), 'target-temperature', bytesMax);

describe('messages the mapper publishes', () => {
  it('when reporting actuals, then each property carries actual.value and the float type, in the twin/update envelope', () => {
    expect(twinUpdateMessage('e-1', 1717000000456, { temperature: '18.5', 'target-temperature': '21' })).toEqual({
      event_id: 'e-1',
      timestamp: 1717000000456,
      twin: {
        temperature: { actual: { value: '18.5' }, metadata: { type: 'float' } },
        'target-temperature': { actual: { value: '21' }, metadata: { type: 'float' } },
      },
    });
  });

  it('when reporting state or asking for the twin, then the payloads are KubeEdge\'s', () => {
    expect(stateUpdateMessage('e-2', 5, 'online')).toEqual({ event_id: 'e-2', timestamp: 5, state: 'online' });
    expect(stateUpdateMessage('e-3', 6, 'offline')).toEqual({ event_id: 'e-3', timestamp: 6, state: 'offline' });
    expect(twinGetMessage('e-4', 7)).toEqual({ event_id: 'e-4', timestamp: 7 });
  });
});

describe('reading a delta', () => {
  it('when the delta names the target, then its expected value and the twin\'s actual are read', () => {
    const delta = {
      event_id: 'd-1',
      timestamp: 1,
      twin: { 'target-temperature': { expected: { value: '21' }, actual: { value: '18' }, optional: false, metadata: { type: 'float' } } },
      delta: { 'target-temperature': '21' },
    };
    expect(read('delta', delta)).toEqual({ ok: true, value: { kind: 'expectedTarget', expected: '21', actual: '18' } });
  });

  it('when the twin has no actual for the target yet, then the actual is unknown', () => {
    expect(read('delta', { twin: { 'target-temperature': { expected: { value: '21' } } }, delta: { 'target-temperature': '21' } })).toEqual({
      ok: true,
      value: { kind: 'expectedTarget', expected: '21', actual: undefined },
    });
  });

  it('when the delta names only other properties, then it says nothing about the target', () => {
    expect(read('delta', { twin: {}, delta: { mode: 'heat' } })).toEqual({ ok: true, value: { kind: 'noTarget' } });
  });

  it.each([
    ['not JSON', '{"delta":'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['no delta object', { twin: {} }],
    ['a delta that is a string', { delta: 'target-temperature=21' }],
    ['an expected value that is a number', { delta: { 'target-temperature': 21 } }],
    ['an expected value that is null', { delta: { 'target-temperature': null } }],
  ])('when the delta is malformed (%s), then it is an error value and nothing throws', (_case, payload) => {
    const answer = read('delta', payload);
    expect(answer.ok).toBe(false);
  });

  it('when a payload exceeds the byte bound, then it is refused unread', () => {
    const answer = parseEdgeAnswer('delta', bytes({ delta: { 'target-temperature': '21' }, pad: 'x'.repeat(200) }), 'target-temperature', 100);
    expect(answer).toEqual({ ok: false, error: expect.stringMatching(/exceeds 100/) });
  });

  it('when the delta carries a property named like an Object prototype member, then it is not mistaken for the target', () => {
    expect(parseEdgeAnswer('delta', bytes({ delta: {} }), 'constructor', bytesMax)).toEqual({ ok: true, value: { kind: 'noTarget' } });
  });
});

describe('reading a get result', () => {
  it('when the twin holds an expected target, then it is read with the actual', () => {
    const result = { event_id: 'g-1', timestamp: 2, twin: { 'target-temperature': { expected: { value: '21' }, actual: { value: '21' } }, temperature: { actual: { value: '19' } } } };
    expect(read('getResult', result)).toEqual({ ok: true, value: { kind: 'expectedTarget', expected: '21', actual: '21' } });
  });

  it('when the twin has no expected target, then it says nothing about the target', () => {
    expect(read('getResult', { twin: { temperature: { actual: { value: '19' } } } })).toEqual({ ok: true, value: { kind: 'noTarget' } });
    expect(read('getResult', { twin: { 'target-temperature': { expected: { value: 21 } } } })).toEqual({ ok: true, value: { kind: 'noTarget' } });
  });

  it('when the edge answers 404, then the get is refused with the code and reason', () => {
    expect(read('getResult', { event_id: '', timestamp: 3, code: 404, reason: 'Device default/thermometer-1 not found while getting twin' })).toEqual({
      ok: true,
      value: { kind: 'refused', answerTo: 'get', code: '404', reason: 'Device default/thermometer-1 not found while getting twin' },
    });
  });

  it('when the get result has no twin, then it is an error value', () => {
    expect(read('getResult', { event_id: 'g-2' }).ok).toBe(false);
  });
});

describe('reading an update result', () => {
  it('when the update was taken, then it is accepted', () => {
    expect(read('updateResult', { event_id: 'u-1', timestamp: 4, twin: { temperature: { actual: { value: '18.5' } } } })).toEqual({ ok: true, value: { kind: 'accepted' } });
  });

  it('when the update was refused with a code, then the code and reason are read', () => {
    expect(read('updateResult', { event_id: 'u-2', timestamp: 5, code: 400, reason: 'the value is not float' })).toEqual({
      ok: true,
      value: { kind: 'refused', answerTo: 'update', code: '400', reason: 'the value is not float' },
    });
  });

  it('when the code is neither a number nor a string, then it is an error value', () => {
    expect(read('updateResult', { code: { n: 1 } }).ok).toBe(false);
  });
});

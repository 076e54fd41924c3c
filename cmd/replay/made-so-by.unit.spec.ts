// "Made so by" facts and lines. Method: given recorded events of each kind (with and without causes,
// with secrets, with long data), when summarised and described, then one line names the time, type,
// the data that matters, the origin and the cause, and never a secret value.
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../journal/index.js';
import { describeFact, eventFact, madeSoByLines, summarizeEvent, summaryCharsMax } from './made-so-by.js';

const expectedSynced: RecordedEvent = {
  stream: 'twin-default.thermometer-1.9b2e',
  version: 7,
  position: 123n,
  type: 'TwinExpectedSynced.v1',
  data: { twin: { 'target-temperature': { expected: { value: '25', metadata: { timestamp: 1 } }, optional: false, metadata: { type: 'int' }, expected_version: { cloud: 2, edge: 0 } } }, at: 1 },
  meta: { at: '2026-11-27T13:30:01.234Z', origin: 'edge-1', causationId: 'device:9b2e@2', correlationId: 'c-1' },
};

describe('summarizeEvent', () => {
  it("names each twin property's expected or actual value, and a deleted one", () => {
    expect(summarizeEvent(expectedSynced.type, expectedSynced.data)).toBe('target-temperature expected 25');
    expect(summarizeEvent('TwinActualReported.v2', { event_id: 'e-9', twin: { temperature: { actual: { value: '21.5', metadata: { timestamp: 1 } } }, old: null }, at: 1 })).toBe(
      'event_id=e-9, temperature actual 21.5, old deleted',
    );
  });

  it('names the device of a DeviceAdded with the values it holds, leaving out sides and properties without one', () => {
    const data = { device: { namespace: 'default', name: 'thermometer-1', uid: 'u' }, generation: 1, twin: { target: { expected: { value: '21', metadata: { timestamp: 1 } }, actual: null }, temperature: { expected: null, actual: null } }, at: 1 };
    expect(summarizeEvent('DeviceAdded.v1', data)).toBe('device default/thermometer-1, generation=1, target expected 21');
  });

  it('lists the scalar fields of other events, leaving out the time and quoting text with spaces', () => {
    expect(summarizeEvent('ContainerExited.v1', { container: 'app', runId: null, exitCode: 137, reason: 'OOMKilled', message: 'out of memory', backOffMs: 10000, at: 't' })).toBe(
      'container=app, runId=null, exitCode=137, reason=OOMKilled, message="out of memory", backOffMs=10000',
    );
    expect(summarizeEvent('ContainersStartRequested.v1', { containers: ['init', 'app'], at: 't' })).toBe('containers=[init app]');
    expect(summarizeEvent('PodAdmitted.v1', { spec: { name: 'web' }, at: 't' })).toBe('spec={…}');
  });

  it('falls back to the type when the data says nothing beyond its time', () => {
    expect(summarizeEvent('NodeDecommissioned.v1', { at: 't' })).toBe('NodeDecommissioned.v1');
  });

  it('never shows a secret value', () => {
    const line = summarizeEvent('SomethingHappened.v1', { token: 'hunter2', password: 'p@ss' });
    expect(line).toBe('token=<redacted>, password=<redacted>');
  });

  it(`keeps a summary to ${summaryCharsMax} characters`, () => {
    const twin = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`property-${i}`, { expected: { value: String(i) } }]));
    const line = summarizeEvent('TwinExpectedSynced.v1', { twin, at: 1 });
    expect(line.length).toBe(summaryCharsMax);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('eventFact and describeFact', () => {
  it('carry the time, type, summary, origin and both ids', () => {
    const fact = eventFact(expectedSynced);
    expect(fact).toEqual({
      version: 7,
      position: '123',
      at: '2026-11-27T13:30:01.234Z',
      type: 'TwinExpectedSynced.v1',
      summary: 'target-temperature expected 25',
      origin: 'edge-1',
      causationId: 'device:9b2e@2',
      correlationId: 'c-1',
    });
    expect(describeFact(fact)).toBe('v7  2026-11-27T13:30:01.234Z  TwinExpectedSynced.v1  target-temperature expected 25  (origin edge-1, cause device:9b2e@2, correlation c-1)');
  });

  it('leave out the ids an event was recorded without', () => {
    const fact = eventFact({ ...expectedSynced, meta: { at: '2026-11-27T13:30:01.234Z', origin: 'cloud' } });
    expect(fact.causationId).toBeNull();
    expect(fact.correlationId).toBeNull();
    expect(describeFact(fact)).toMatch(/\(origin cloud\)$/);
  });
});

describe('madeSoByLines', () => {
  const fact = eventFact(expectedSynced);
  const next = eventFact({ ...expectedSynced, version: 8, type: 'TwinActualReported.v2', data: { event_id: 'e', twin: { temperature: { actual: { value: '24' } } }, at: 2 }, meta: { at: '2026-11-27T13:30:05.000Z', origin: 'edge-1' } });

  it('name the event that made the state and, when replay stopped early, the one after it', () => {
    expect(madeSoByLines({ kind: 'event', fact }, next, true)).toEqual([
      `made so by: ${describeFact(fact)}`,
      'then: v8  2026-11-27T13:30:05.000Z  TwinActualReported.v2  event_id=e, temperature actual 24  (origin edge-1)',
    ]);
  });

  it('say nothing came after when the point is past the newest event, and no "then" without --until', () => {
    expect(madeSoByLines({ kind: 'event', fact }, undefined, true)[1]).toBe('then: nothing after it yet');
    expect(madeSoByLines({ kind: 'event', fact }, undefined, false)).toHaveLength(1);
  });

  it('say when the state rests on a snapshot, or on nothing yet', () => {
    expect(madeSoByLines({ kind: 'snapshot', version: 12 }, undefined, false)).toEqual(['made so by: the snapshot at v12 (the events before it were compacted)']);
    expect(madeSoByLines({ kind: 'nothing' }, next, true)[0]).toBe('made so by: nothing yet (no event of this stream is at or before that point)');
  });
});

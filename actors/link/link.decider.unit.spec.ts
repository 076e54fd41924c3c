// The node link decider and machine, given/when/then (STYLE R16): given a node's link events as the
// cloud journaled them, when the hub observes a link, a close or a decommissioning, then these
// events are recorded and the link ends in this state.
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../host/decider-spec.testing.js';
import type { LinkEvent } from './link.events.js';
import { decodeLinkEvent } from './link.events.js';
import { linkKind, linkStream } from './link.kind.js';

const given = deciderSpec(linkKind);
const linked = (at: string, process = 'cloud-a', mode: 'resume' | 'full' = 'full'): LinkEvent => ({ type: 'EdgeLinked.v1', data: { at, mode, process } });
const unlinked = (at: string, code = 1006, reason = 'connection lost'): LinkEvent => ({ type: 'EdgeUnlinked.v1', data: { at, code, reason, byCloud: false } });

describe('given a node never seen', () => {
  it('records its first link, counted, with the serving process', () => {
    const state = given([]).when({ type: 'RecordLinked', at: 't1', mode: 'full', process: 'cloud-a' }).then([linked('t1')]);
    expect(state).toMatchObject({ status: 'linked', links: 1, process: 'cloud-a', mode: 'full', since: 't1' });
  });

  it('records no close for a link that never came up', () => {
    given([]).when({ type: 'RecordUnlinked', at: 't1', code: 1006, reason: 'x', byCloud: false }).then([]);
  });
});

describe('given a linked node', () => {
  it('records the close with its code and reason, once', () => {
    const state = given([linked('t1')]).when({ type: 'RecordUnlinked', at: 't2', code: 1012, reason: 'node lease not renewed; reconnect', byCloud: true }).then([
      { type: 'EdgeUnlinked.v1', data: { at: 't2', code: 1012, reason: 'node lease not renewed; reconnect', byCloud: true } },
    ]);
    expect(state).toMatchObject({ status: 'unlinked', links: 1, lastClose: { code: 1012, byCloud: true } });
    given([linked('t1'), unlinked('t2')]).when({ type: 'RecordUnlinked', at: 't3', code: 1006, reason: 'again', byCloud: false }).then([]);
  });

  it('records a new link replacing the old one (a reconnect the close of which came later) and counts it', () => {
    const state = given([linked('t1')]).when({ type: 'RecordLinked', at: 't2', mode: 'resume', process: 'cloud-b' }).then([linked('t2', 'cloud-b', 'resume')]);
    expect(state).toMatchObject({ status: 'linked', links: 2, process: 'cloud-b' });
  });
});

describe('given a decommissioned node', () => {
  it('records the decommissioning once, and the node back as unlinked when its Node is created again', () => {
    const decommissioned = given([linked('t1')]).when({ type: 'RecordDecommissioned', at: 't2' }).then([{ type: 'EdgeDecommissioned.v1', data: { at: 't2' } }]);
    expect(decommissioned.status).toBe('decommissioned');
    given([linked('t1'), { type: 'EdgeDecommissioned.v1', data: { at: 't2' } }]).when({ type: 'RecordDecommissioned', at: 't3' }).then([]);
    // Its stream closes (4410) after the decommissioning: recorded, and it stays decommissioned.
    const closed = given([linked('t1'), { type: 'EdgeDecommissioned.v1', data: { at: 't2' } }])
      .when({ type: 'RecordUnlinked', at: 't3', code: 4410, reason: 'node deleted', byCloud: true })
      .then([{ type: 'EdgeUnlinked.v1', data: { at: 't3', code: 4410, reason: 'node deleted', byCloud: true } }]);
    expect(closed).toMatchObject({ status: 'decommissioned', open: false, lastClose: { code: 4410 } });
    const back = given([linked('t1'), { type: 'EdgeDecommissioned.v1', data: { at: 't2' } }]).when({ type: 'RecordRecommissioned', at: 't3' }).then([{ type: 'EdgeRecommissioned.v1', data: { at: 't3' } }]);
    expect(back).toMatchObject({ status: 'unlinked', since: 't3' });
  });
});

describe('reading recorded link events back', () => {
  it('accepts each event type and refuses unknown types and malformed data with the reason', () => {
    expect(decodeLinkEvent('EdgeLinked.v1', { at: 't', mode: 'resume', process: 'p' }).ok).toBe(true);
    expect(decodeLinkEvent('EdgeLinked.v1', { at: 't', mode: 'sideways', process: 'p' })).toEqual({ ok: false, error: { kind: 'MalformedEventData', type: 'EdgeLinked.v1', detail: 'data.mode must be resume or full' } });
    expect(decodeLinkEvent('EdgeUnlinked.v1', { at: 't', code: '1006', reason: 'r', byCloud: false })).toMatchObject({ ok: false, error: { detail: 'data.code must be a number' } });
    expect(decodeLinkEvent('PodStarted.v1', {})).toMatchObject({ ok: false, error: { kind: 'UnknownEventType' } });
    expect(linkStream('edge-1')).toBe('link-edge-1');
  });
});

// The MetaServer's view over an in-memory SQLite ObjectStore. Method: given a fresh view, when the
// edge puts, re-puts, replaces, removes and rebuilds objects, then the store's change feed (what
// watches stream) carries exactly one event per real change, versions come from the view's own
// counter, and the bounds (objects, bytes, batch duplicates, closed) answer as typed errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { ResourceRegistry } from '../api/resources.js';
import { openObjectStore, type Change, type ObjectStore } from '../store/object-store.js';
import { servedKindsOf } from './meta-object.parse.js';
import { configMapObject, podObject, secretObject } from './meta-server.testing.js';
import { StoreMetaView } from './meta-view.store.js';

const served = servedKindsOf(() => new ResourceRegistry().all());
const rvStart = 1_000_000;

let store: ObjectStore;
let view: StoreMetaView;
let events: string[];

const open = (limits = { objectsMax: 10, objectBytesMax: 64 * 1024 }): void => {
  const opened = openObjectStore(':memory:', { resourceVersionStart: rvStart });
  if (!opened.ok) throw new Error(opened.error.kind);
  store = opened.value;
  view = new StoreMetaView(store, served, limits);
  events = [];
  store.onChange((change: Change) => events.push(`${change.type} ${change.key.resource} ${change.key.namespace}/${change.key.name} ${change.rv}`));
};

const metadataOf = (object: JsonObject | undefined): Record<string, unknown> => (object?.['metadata'] ?? {}) as Record<string, unknown>;
const podKey = (name: string) => ({ group: '', resource: 'pods', namespace: 'default', name });

beforeEach(() => open());
afterEach(() => {
  view.close();
  store.close();
});

describe('put', () => {
  it('adds an object stamped with the next version of the view, after the start version', () => {
    expect(view.put(podObject('default', 'web', 'u1'))).toEqual({ ok: true, value: 'added' });
    expect(events).toEqual([`ADDED pods default/web ${rvStart + 1}`]);
    expect(metadataOf(store.get(podKey('web')))['resourceVersion']).toBe(String(rvStart + 1));
    expect(view.size).toBe(1);
  });

  it('changes nothing when the same content comes again, whatever version the cloud gave it', () => {
    view.put(podObject('default', 'web', 'u1'));
    const again = { ...podObject('default', 'web', 'u1'), metadata: { ...metadataOf(podObject('default', 'web', 'u1')), resourceVersion: '9999' } };
    expect(view.put(again as JsonObject)).toEqual({ ok: true, value: 'unchanged' });
    expect(events).toHaveLength(1);
  });

  it('modifies in place when the status the edge computes arrives', () => {
    view.put(podObject('default', 'web', 'u1'));
    expect(view.put(podObject('default', 'web', 'u1', { phase: 'Running' }))).toEqual({ ok: true, value: 'modified' });
    expect(events).toEqual([`ADDED pods default/web ${rvStart + 1}`, `MODIFIED pods default/web ${rvStart + 2}`]);
    expect((store.get(podKey('web'))?.['status'] as Record<string, unknown>)['phase']).toBe('Running');
  });

  it('deletes, then adds, a new object under a held name (another uid)', () => {
    view.put(podObject('default', 'web', 'u1'));
    expect(view.put(podObject('default', 'web', 'u2'))).toEqual({ ok: true, value: 'replaced' });
    expect(events.map((e) => e.split(' ')[0])).toEqual(['ADDED', 'DELETED', 'ADDED']);
    expect(view.remove({ uid: 'u1' })).toEqual({ ok: true, value: 'absent' });
    expect(view.remove({ uid: 'u2' })).toEqual({ ok: true, value: 'deleted' });
  });

  it('refuses an object beyond objectsMax, and changes nothing', () => {
    view.close();
    store.close();
    open({ objectsMax: 1, objectBytesMax: 64 * 1024 });
    view.put(podObject('default', 'a', 'u1'));
    expect(view.put(podObject('default', 'b', 'u2'))).toEqual({ ok: false, error: { kind: 'ViewFull', objectsMax: 1 } });
    // Updating a held object is no growth.
    expect(view.put(podObject('default', 'a', 'u1', { phase: 'Running' }))).toEqual({ ok: true, value: 'modified' });
    expect(view.size).toBe(1);
  });
});

describe('remove', () => {
  beforeEach(() => {
    view.put(podObject('default', 'web', 'u1'));
    events.length = 0;
  });

  it('deletes by kind and name, carrying the last state with a new version', () => {
    expect(view.remove({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' })).toEqual({ ok: true, value: 'deleted' });
    expect(events).toEqual([`DELETED pods default/web ${rvStart + 2}`]);
    expect(view.size).toBe(0);
  });

  it('leaves a newer object of the same name alone when the uid differs', () => {
    expect(view.remove({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web', uid: 'old' })).toEqual({ ok: true, value: 'uidDiffers' });
    expect(events).toEqual([]);
  });

  it('answers absent for what it does not hold', () => {
    expect(view.remove({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'other' })).toEqual({ ok: true, value: 'absent' });
    expect(view.remove({ uid: 'nobody' })).toEqual({ ok: true, value: 'absent' });
  });
});

describe('replaceAll', () => {
  it('rebuilds to exactly the given objects, with one event per difference', () => {
    view.put(podObject('default', 'keep', 'u1'));
    view.put(podObject('default', 'change', 'u2'));
    view.put(podObject('default', 'gone', 'u3'));
    events.length = 0;
    const summary = view.replaceAll([podObject('default', 'keep', 'u1'), podObject('default', 'change', 'u2', { phase: 'Running' }), configMapObject('default', 'settings', { mode: 'edge' }), secretObject('default', 'token', { t: 'c2VjcmV0' })]);
    expect(summary).toEqual({ ok: true, value: { added: 2, modified: 1, replaced: 0, unchanged: 1, deleted: 1 } });
    expect(events.map((e) => e.split(' ').slice(0, 3).join(' '))).toEqual(['DELETED pods default/gone', 'MODIFIED pods default/change', 'ADDED configmaps default/settings', 'ADDED secrets default/token']);
    expect(view.size).toBe(4);
  });

  it('checks the whole batch first: one bad or duplicate item changes nothing', () => {
    view.put(podObject('default', 'held', 'u1'));
    events.length = 0;
    expect(view.replaceAll([podObject('default', 'a', 'u2'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' } }])).toMatchObject({ ok: false, error: { kind: 'InvalidObject', field: 'metadata.namespace', index: 1 } });
    expect(view.replaceAll([podObject('default', 'a', 'u2'), podObject('default', 'a', 'u2')])).toEqual({ ok: false, error: { kind: 'DuplicateObject', ref: 'pods default/a', index: 1 } });
    expect(view.replaceAll(Array.from({ length: 11 }, (_, i) => podObject('default', `p${i}`, `u${i}`)))).toEqual({ ok: false, error: { kind: 'ViewFull', objectsMax: 10 } });
    expect(events).toEqual([]);
    expect(view.size).toBe(1);
  });

  it('fits a full batch even when the old content was full too', () => {
    view.replaceAll(Array.from({ length: 10 }, (_, i) => podObject('default', `old${i}`, `o${i}`)));
    expect(view.replaceAll(Array.from({ length: 10 }, (_, i) => podObject('default', `new${i}`, `n${i}`)))).toEqual({ ok: true, value: { added: 10, modified: 0, replaced: 0, unchanged: 0, deleted: 10 } });
  });
});

it('answers Closed after close', () => {
  view.close();
  expect(view.put(podObject('default', 'web', 'u1'))).toEqual({ ok: false, error: { kind: 'Closed' } });
  expect(view.remove({ uid: 'u1' })).toEqual({ ok: false, error: { kind: 'Closed' } });
  expect(view.replaceAll([])).toEqual({ ok: false, error: { kind: 'Closed' } });
});

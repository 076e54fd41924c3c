// Name-based selection of replay streams. Method: given selection flags and the stream ids a journal
// holds, when parsed and matched, then the streams of exactly that node, pod or twin are found (each
// incarnation with its uid, the newest last), and anything else is a clear error value.
import { describe, expect, it } from 'vitest';
import { byCreation, matchStreams, noMatchMessage, parseSelector, type Selector } from './select.js';

const parsed = (flags: Parameters<typeof parseSelector>[0]): Selector | undefined => {
  const result = parseSelector(flags);
  if (!result.ok) throw new Error(result.error);
  return result.value;
};

const streams = [
  'link-edge-1',
  'node-edge-1',
  'node-edge-10',
  'pod-default.hello-edge-5c7d-abcde.1111',
  'pod-default.hello-edge-5c7d-abcde.2222',
  'pod-default.hello-edge-5c7d-abcde.x.3333',
  'pod-other.hello-edge-5c7d-abcde.4444',
  'pod-default.web.v1.5555',
  'twin-default.thermometer-1.9b2e',
];

describe('parseSelector', () => {
  it('selects nothing when no flag is given, so replay lists the streams', () => {
    expect(parsed({})).toBeUndefined();
  });

  it('reads NS/NAME for a pod or twin, and NAME alone as the default namespace', () => {
    expect(parsed({ pod: 'kube-system/web.v1' })).toEqual({ kind: 'pod', namespace: 'kube-system', name: 'web.v1' });
    expect(parsed({ twin: 'thermometer-1' })).toEqual({ kind: 'twin', namespace: 'default', name: 'thermometer-1' });
    expect(parsed({ node: 'edge-1' })).toEqual({ kind: 'node', name: 'edge-1' });
    expect(parsed({ stream: 'node-edge-1' })).toEqual({ kind: 'stream', stream: 'node-edge-1' });
  });

  it('refuses two selections at once, naming both flags', () => {
    const result = parseSelector({ node: 'edge-1', twin: 'default/t' });
    expect(result).toEqual({ ok: false, error: 'choose one of --stream, --node, --pod, --twin (got --node and --twin)' });
  });

  it('refuses names that are not Kubernetes names, with an example of a good one', () => {
    for (const pod of ['a/b/c', '/web', 'default/', 'Default/web', 'default/-web']) {
      const result = parseSelector({ pod });
      expect(result.ok, pod).toBe(false);
      if (!result.ok) expect(result.error).toContain('--pod takes NAMESPACE/NAME');
    }
    expect(parseSelector({ twin: 'a.b/t' }).ok).toBe(false);
    expect(parseSelector({ node: 'edge_1' }).ok).toBe(false);
  });
});

describe('matchStreams', () => {
  it("finds a node's edge stream and its cloud link, but not a node whose name only starts the same", () => {
    expect(matchStreams({ kind: 'node', name: 'edge-1' }, streams)).toEqual([
      { stream: 'link-edge-1', uid: null },
      { stream: 'node-edge-1', uid: null },
    ]);
  });

  it('finds every incarnation of a pod with its uid, and no pod of another namespace or a longer name', () => {
    expect(matchStreams({ kind: 'pod', namespace: 'default', name: 'hello-edge-5c7d-abcde' }, streams)).toEqual([
      { stream: 'pod-default.hello-edge-5c7d-abcde.1111', uid: '1111' },
      { stream: 'pod-default.hello-edge-5c7d-abcde.2222', uid: '2222' },
    ]);
  });

  it('matches a name that contains dots', () => {
    expect(matchStreams({ kind: 'pod', namespace: 'default', name: 'web.v1' }, streams)).toEqual([{ stream: 'pod-default.web.v1.5555', uid: '5555' }]);
  });

  it('finds a twin by its Device name, and nothing for a pod of that name', () => {
    expect(matchStreams({ kind: 'twin', namespace: 'default', name: 'thermometer-1' }, streams)).toEqual([{ stream: 'twin-default.thermometer-1.9b2e', uid: '9b2e' }]);
    expect(matchStreams({ kind: 'pod', namespace: 'default', name: 'thermometer-1' }, streams)).toEqual([]);
  });
});

describe('byCreation', () => {
  it('orders incarnations by their oldest event, so the newest comes last whatever the uids', () => {
    const ordered = byCreation([
      { stream: 'pod-default.a.ffff', uid: 'ffff', firstPosition: 40n },
      { stream: 'pod-default.a.0000', uid: '0000', firstPosition: 90n },
      { stream: 'pod-default.a.8888', uid: '8888', firstPosition: 7n },
    ]);
    expect(ordered.map((i) => i.uid)).toEqual(['8888', 'ffff', '0000']);
  });
});

describe('noMatchMessage', () => {
  it('says what was looked for and which streams of that kind the journal holds', () => {
    expect(noMatchMessage({ kind: 'twin', namespace: 'default', name: 'nope' }, 'j.db', streams)).toBe(
      'no twin default/nope in j.db; its twin streams: twin-default.thermometer-1.9b2e (run without a selection to list them)',
    );
  });

  it('says so when the journal holds no stream of that kind, e.g. a cloud journal asked for a pod', () => {
    expect(noMatchMessage({ kind: 'pod', namespace: 'default', name: 'web' }, 'cloud.db', ['link-edge-1'])).toBe(
      'no pod default/web in cloud.db; it holds no pod streams (run without a selection to list them)',
    );
  });

  it('keeps a long list of candidates to a few', () => {
    const many = Array.from({ length: 9 }, (_, i) => `pod-default.p${i}.u${i}`);
    expect(noMatchMessage({ kind: 'pod', namespace: 'default', name: 'web' }, 'j.db', many)).toContain('pod-default.p4.u4, … (4 more)');
  });
});

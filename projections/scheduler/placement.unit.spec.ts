// Placement as kube-scheduler's filters decide it. Method: given nodes and the pods already bound,
// when a pod is placed, then it goes to the node every filter passes (fewest pods first), or it
// stays unschedulable with kube-scheduler's message counting nodes per reason.
import { describe, expect, it } from 'vitest';
import { cpuMillis, placePod } from './placement.js';

type Raw = Record<string, unknown>;

const node = (name: string, extra: { labels?: Raw; taints?: Raw[]; unschedulable?: boolean; ready?: boolean; cpu?: string; memory?: string; pods?: string } = {}): Raw => ({
  metadata: { name, labels: { 'node-role.kubernetes.io/edge': '', ...extra.labels } },
  spec: { ...(extra.taints === undefined ? {} : { taints: extra.taints }), ...(extra.unschedulable === true ? { unschedulable: true } : {}) },
  status: {
    conditions: [{ type: 'Ready', status: extra.ready === false ? 'Unknown' : 'True' }],
    allocatable: { cpu: extra.cpu ?? '2', memory: extra.memory ?? '4Gi', pods: extra.pods ?? '110' },
  },
});

const pod = (name: string, spec: Raw = {}, container: Raw = {}): Raw => ({ metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'app', ...container }], ...spec } });
const boundTo = (nodeName: string, p: Raw, phase = 'Running'): Raw => ({ ...p, spec: { ...(p['spec'] as Raw), nodeName }, status: { phase } });

describe('given two ready edge nodes', () => {
  const nodes = [node('edge-1', { labels: { site: 'a' } }), node('edge-2', { labels: { site: 'b' } })];

  it('spreads pods: the node with fewer pods wins, then the name', () => {
    expect(placePod(pod('p'), nodes, [])).toEqual({ kind: 'bind', node: 'edge-1' });
    expect(placePod(pod('p'), nodes, [boundTo('edge-1', pod('q'))])).toEqual({ kind: 'bind', node: 'edge-2' });
    // An ended pod does not count.
    expect(placePod(pod('p'), nodes, [boundTo('edge-1', pod('q'), 'Succeeded')])).toEqual({ kind: 'bind', node: 'edge-1' });
  });

  it('follows nodeSelector and required node affinity', () => {
    expect(placePod(pod('p', { nodeSelector: { site: 'b' } }), nodes, [])).toEqual({ kind: 'bind', node: 'edge-2' });
    const affinity = (operator: string, values: string[] = []) => ({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'site', operator, values }] }] } } },
    });
    expect(placePod(pod('p', affinity('In', ['b', 'c'])), nodes, [])).toEqual({ kind: 'bind', node: 'edge-2' });
    expect(placePod(pod('p', affinity('NotIn', ['a'])), nodes, [])).toEqual({ kind: 'bind', node: 'edge-2' });
    expect(placePod(pod('p', affinity('DoesNotExist')), nodes, [])).toEqual({ kind: 'unschedulable', message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." });
    expect(placePod(pod('p', { nodeSelector: { site: 'z' } }), nodes, [])).toMatchObject({ kind: 'unschedulable' });
  });

  it('treats container ports as host ports: a second pod on the same port goes to the other node, a third nowhere', () => {
    const web = (name: string) => pod(name, {}, { ports: [{ containerPort: 8080 }] });
    const bound = [boundTo('edge-1', web('w1'))];
    expect(placePod(web('w2'), nodes, bound)).toEqual({ kind: 'bind', node: 'edge-2' });
    expect(placePod(web('w3'), nodes, [...bound, boundTo('edge-2', web('w2'))])).toEqual({
      kind: 'unschedulable',
      message: "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
    });
    // Another protocol on the same number is another port.
    expect(placePod(pod('u', {}, { ports: [{ containerPort: 8080, protocol: 'UDP' }] }), [nodes[0]!], bound)).toEqual({ kind: 'bind', node: 'edge-1' });
  });
});

describe('given nodes that cannot take every pod', () => {
  it('keeps off unschedulable, tainted and not-ready nodes unless tolerated, and says so per node', () => {
    const nodes = [node('cordoned', { unschedulable: true }), node('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), node('down', { ready: false })];
    expect(placePod(pod('p'), nodes, [])).toEqual({
      kind: 'unschedulable',
      message: '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.',
    });
    expect(placePod(pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), nodes, [])).toEqual({ kind: 'bind', node: 'tainted' });
    expect(placePod(pod('p', { tolerations: [{ operator: 'Exists' }] }), nodes.slice(1), [])).toEqual({ kind: 'bind', node: 'down' });
    // A PreferNoSchedule taint never filters.
    expect(placePod(pod('p'), [node('soft', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })], [])).toEqual({ kind: 'bind', node: 'soft' });
  });

  it('fits requests next to what is bound: cpu, memory (init containers count at their largest) and the pod count', () => {
    const small = node('small', { cpu: '1', memory: '1Gi', pods: '2' });
    const asks = (cpu: string, memory: string) => ({ resources: { requests: { cpu, memory } } });
    expect(placePod(pod('p', {}, asks('600m', '100Mi')), [small], [boundTo('small', pod('q', {}, asks('500m', '100Mi')))])).toEqual({ kind: 'unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' });
    expect(placePod(pod('p', {}, asks('100m', '900Mi')), [small], [boundTo('small', pod('q', {}, asks('100m', '200Mi')))])).toEqual({ kind: 'unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' });
    const withInit = pod('i', { initContainers: [{ name: 'init', resources: { requests: { cpu: '1500m' } } }] });
    expect(placePod(withInit, [small], [])).toEqual({ kind: 'unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' });
    expect(placePod(pod('p'), [small], [boundTo('small', pod('a')), boundTo('small', pod('b'))])).toEqual({ kind: 'unschedulable', message: '0/1 nodes are available: 1 Insufficient pods.' });
    expect(placePod(pod('p'), [], [])).toEqual({ kind: 'unschedulable', message: '0/0 nodes are available.' });
  });

  it('reads cpu quantities as millicores', () => {
    expect([cpuMillis('250m'), cpuMillis('1'), cpuMillis('0.5'), cpuMillis('2.5'), cpuMillis('x'), cpuMillis(undefined)]).toEqual([250, 1000, 500, 2500, undefined, undefined]);
  });
});

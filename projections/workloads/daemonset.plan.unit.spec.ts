// The DaemonSet plan as upstream's DaemonSet controller decides it. Method: given a DaemonSet, the
// nodes and the pods it controls (made with daemonPodOf, as the controller makes them), when it is
// planned, then the creates, deletes, revision step and status are those of kube-controller-manager.
import { describe, expect, it } from 'vitest';
import { daemonPodOf, planDaemonSet, withDaemonTolerations, revisionStepOf, controllerRevisionOf, REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL, type DaemonSetPlan, type DaemonSetView } from './daemonset.plan.js';
import { templateHash } from './pod-template.js';

type Raw = Record<string, unknown>;

const NOW_MS = Date.parse('2025-01-01T00:10:00Z');

function daemonSet(extra: { image?: string; nodeSelector?: Raw; strategy?: Raw; generation?: number; status?: Raw; minReadySeconds?: number; tolerations?: Raw[]; revisionHistoryLimit?: number } = {}): Raw {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid', generation: extra.generation ?? 1 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'agent', image: extra.image ?? 'agent:1', command: ['agent'] }],
          ...(extra.nodeSelector === undefined ? {} : { nodeSelector: extra.nodeSelector }),
          ...(extra.tolerations === undefined ? {} : { tolerations: extra.tolerations }),
        },
      },
      updateStrategy: extra.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...(extra.minReadySeconds === undefined ? {} : { minReadySeconds: extra.minReadySeconds }),
      ...(extra.revisionHistoryLimit === undefined ? {} : { revisionHistoryLimit: extra.revisionHistoryLimit }),
    },
    status: extra.status ?? {},
  };
}

function node(name: string, extra: { labels?: Raw; taints?: Raw[]; ready?: 'True' | 'False' | 'Unknown' } = {}): Raw {
  return {
    metadata: { name, labels: { 'node-role.kubernetes.io/edge': '', ...extra.labels } },
    spec: extra.taints === undefined ? {} : { taints: extra.taints },
    status: { conditions: [{ type: 'Ready', status: extra.ready ?? 'True' }] },
  };
}

let podSeq = 0;
type PodState = 'pending' | 'ready' | 'failed' | 'succeeded' | 'terminating';

/** A daemon pod as the API shows it once created from `ds` on `nodeName` and in `state`. */
function podOn(ds: Raw, nodeName: string, state: PodState = 'ready', created = '2025-01-01T00:00:00Z'): Raw {
  podSeq += 1;
  const hash = templateHash((ds['spec'] as Raw)['template']);
  const pod = daemonPodOf(ds, nodeName, hash) as Raw;
  const metadata = { ...(pod['metadata'] as Raw), name: `agent-${podSeq}`, uid: `pod-${podSeq}`, creationTimestamp: created, ...(state === 'terminating' ? { deletionTimestamp: '2025-01-01T00:09:00Z' } : {}) };
  const phase = state === 'failed' ? 'Failed' : state === 'succeeded' ? 'Succeeded' : state === 'pending' ? 'Pending' : 'Running';
  const conditions = state === 'ready' || state === 'terminating' ? [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:05Z' }] : [];
  return { ...pod, metadata, status: { phase, conditions } };
}

/** The ControllerRevision the controller would have written for `ds` as revision `number`. */
const revisionFor = (ds: Raw, number: number): Raw => controllerRevisionOf(ds, templateHash((ds['spec'] as Raw)['template']), number) as Raw;

function plan(ds: Raw, nodes: Raw[], pods: Raw[], extra: Partial<DaemonSetView> = {}): DaemonSetPlan {
  const planned = planDaemonSet({ daemonSet: ds, nodes, pods, revisions: [revisionFor(ds, 1)], nowMs: NOW_MS, expectationsSatisfied: true, failedBackoffNodes: new Set(), ...extra });
  if (planned === undefined) throw new Error('expected a plan');
  return planned;
}

const deletedNames = (p: DaemonSetPlan): string[] => p.deletes.map((d) => String((d.pod['metadata'] as Raw)['name']));
const withImage = (ds: Raw, image: string, generation: number): Raw => {
  const spec = structuredClone(ds['spec']) as { template: { spec: { containers: Raw[] } } };
  spec.template.spec.containers[0] = { ...spec.template.spec.containers[0], image };
  return { ...ds, metadata: { ...(ds['metadata'] as Raw), generation }, spec };
};

describe('given a DaemonSet and Ready nodes without its pods', () => {
  const ds = daemonSet();

  it('creates one pod per node, bound to the node, owned by the DaemonSet, labelled with its revision', () => {
    const p = plan(ds, [node('edge-1'), node('edge-2')], []);
    expect(p.creates).toEqual(['edge-1', 'edge-2']);
    expect(p.deletes).toEqual([]);
    const pod = daemonPodOf(ds, 'edge-1', 'h4sh') as Raw;
    expect(pod).toMatchObject({
      metadata: { generateName: 'agent-', namespace: 'default', labels: { app: 'agent', [REVISION_HASH_LABEL]: 'h4sh', [TEMPLATE_GENERATION_LABEL]: '1' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-uid', controller: true, blockOwnerDeletion: true }] },
      spec: { nodeName: 'edge-1', affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['edge-1'] }] }] } } } },
    });
  });

  it('gives every daemon pod the tolerations upstream adds (not-ready and unreachable NoExecute among them), once each, and network-unavailable on the host network', () => {
    const ds2 = daemonSet({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }] });
    const tolerations = ((daemonPodOf(ds2, 'edge-1', 'h') as Raw)['spec'] as Raw)['tolerations'] as Raw[];
    expect(tolerations.map((t) => `${String(t['key'])}:${String(t['effect'])}`)).toEqual([
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    const hostNetwork = withDaemonTolerations({ hostNetwork: true })['tolerations'] as Raw[];
    expect(hostNetwork.map((t) => t['key'])).toContain('node.kubernetes.io/network-unavailable');
  });

  it('skips nodes its nodeSelector does not match', () => {
    const p = plan(daemonSet({ nodeSelector: { site: 'a' } }), [node('edge-1', { labels: { site: 'a' } }), node('edge-2', { labels: { site: 'b' } })], []);
    expect(p.creates).toEqual(['edge-1']);
    expect(p.status).toMatchObject({ desiredNumberScheduled: 1 });
  });

  it('gives a NotReady or unreachable edge its pod: only taints exclude a node, and the not-ready/unreachable NoExecute taints are tolerated', () => {
    const notReady = node('edge-1', { ready: 'Unknown' });
    const tainted = node('edge-2', { ready: 'Unknown', taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] });
    const cordoned = node('edge-3', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
    expect(plan(ds, [notReady, tainted, cordoned], []).creates).toEqual(['edge-1', 'edge-2', 'edge-3']);
  });

  it('skips a node with a NoSchedule taint the pod does not tolerate', () => {
    const p = plan(ds, [node('edge-1'), node('edge-2', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })], []);
    expect(p.creates).toEqual(['edge-1']);
  });

  it('creates nothing and keeps observedGeneration while its own earlier writes are not yet seen', () => {
    const p = plan(daemonSet({ generation: 2, status: { observedGeneration: 1 } }), [node('edge-1')], [], { expectationsSatisfied: false });
    expect(p.creates).toEqual([]);
    expect(p.status).toMatchObject({ observedGeneration: 1, desiredNumberScheduled: 1, currentNumberScheduled: 0 });
  });

  it('plans nothing for a DaemonSet being deleted', () => {
    const deleting = { ...ds, metadata: { ...(ds['metadata'] as Raw), deletionTimestamp: '2025-01-01T00:00:00Z' } };
    expect(planDaemonSet({ daemonSet: deleting, nodes: [node('edge-1')], pods: [], revisions: [], nowMs: NOW_MS, expectationsSatisfied: true, failedBackoffNodes: new Set() })).toBeUndefined();
  });
});

describe('given a DaemonSet running on every node', () => {
  const ds = daemonSet();
  const nodes = [node('edge-1'), node('edge-2')];
  const pods = [podOn(ds, 'edge-1'), podOn(ds, 'edge-2')];

  it('creates a pod for a node that joins, and only for it', () => {
    expect(plan(ds, [...nodes, node('edge-3')], pods).creates).toEqual(['edge-3']);
  });

  it('writes the status kubectl reads, then writes nothing while it holds', () => {
    const p = plan(ds, nodes, pods);
    expect(p.creates).toEqual([]);
    expect(p.deletes).toEqual([]);
    const status = { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, numberAvailable: 2, numberUnavailable: 0, updatedNumberScheduled: 2, observedGeneration: 1 };
    expect(p.status).toEqual(status);
    expect(plan(daemonSet({ status }), nodes, pods).status).toBeUndefined();
  });

  it('deletes the pod of a node tainted NoExecute without toleration; a NoSchedule taint keeps it, counted misscheduled', () => {
    const noExecute = plan(ds, [nodes[0]!, node('edge-2', { taints: [{ key: 'maintenance', effect: 'NoExecute' }] })], pods);
    expect(noExecute.deletes.map((d) => [d.node, d.why])).toEqual([['edge-2', 'misscheduled']]);
    const noSchedule = plan(ds, [nodes[0]!, node('edge-2', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] })], pods);
    expect(noSchedule.deletes).toEqual([]);
    expect(noSchedule.status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 1 });
  });

  it('deletes the pod of a node its nodeSelector no longer matches', () => {
    const p = plan(daemonSet({ nodeSelector: { site: 'a' } }), [node('edge-1', { labels: { site: 'a' } }), node('edge-2')], [podOn(ds, 'edge-1'), podOn(ds, 'edge-2')]);
    expect(p.deletes.map((d) => d.node)).toEqual(['edge-2']);
  });

  it('keeps the oldest of several pods on one node and deletes the rest', () => {
    const extra = podOn(ds, 'edge-1', 'ready', '2025-01-01T00:05:00Z');
    const p = plan(ds, nodes, [...pods, extra]);
    expect(deletedNames(p)).toEqual([String((extra['metadata'] as Raw)['name'])]);
    expect(p.deletes[0]?.why).toBe('excess');
  });

  it('deletes a failed pod (unless a failed pod there was deleted lately) and replaces it once it is going', () => {
    const failed = podOn(ds, 'edge-2', 'failed');
    const p = plan(ds, nodes, [pods[0]!, failed]);
    expect(p.deletes.map((d) => [d.node, d.why])).toEqual([['edge-2', 'failed']]);
    expect(plan(ds, nodes, [pods[0]!, failed], { failedBackoffNodes: new Set(['edge-2']) }).deletes).toEqual([]);
    const going = { ...failed, metadata: { ...(failed['metadata'] as Raw), deletionTimestamp: '2025-01-01T00:09:00Z' } };
    expect(plan(ds, nodes, [pods[0]!, going]).creates).toEqual(['edge-2']);
  });

  it('counts pending pods current but not ready, and ready pods available only after minReadySeconds (planning again then)', () => {
    const slow = daemonSet({ minReadySeconds: 600 });
    const p = plan(slow, nodes, [podOn(slow, 'edge-1', 'pending'), podOn(slow, 'edge-2')]);
    expect(p.status).toMatchObject({ currentNumberScheduled: 2, numberReady: 1, numberAvailable: 0, numberUnavailable: 2 });
    // Ready at 00:00:05, available at 00:10:05: five seconds after NOW.
    expect(p.recheckAfterMs).toBe(5_000);
  });
});

describe('given a template change on a DaemonSet with RollingUpdate maxUnavailable 1', () => {
  const old = daemonSet();
  const ds = withImage(old, 'agent:2', 2);
  const nodes = [node('edge-1'), node('edge-2'), node('edge-3')];
  const revisions = [revisionFor(old, 1), revisionFor(ds, 2)];

  it('deletes one old pod at a time and counts none updated yet', () => {
    const p = plan(ds, nodes, [podOn(old, 'edge-1'), podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions });
    expect(p.creates).toEqual([]);
    expect(p.deletes.map((d) => [d.node, d.why])).toEqual([['edge-1', 'outdated']]);
    expect(p.status).toMatchObject({ observedGeneration: 2, updatedNumberScheduled: 0, desiredNumberScheduled: 3 });
  });

  it('deletes no more while the old pod is going or the new one is not available', () => {
    expect(plan(ds, nodes, [podOn(old, 'edge-1', 'terminating'), podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions }).deletes).toEqual([]);
    const p = plan(ds, nodes, [podOn(ds, 'edge-1', 'pending'), podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions });
    expect(p.deletes).toEqual([]);
    expect(p.status).toMatchObject({ updatedNumberScheduled: 1 });
  });

  it('creates the new pod once the old one is gone, then moves on to the next node once it is available', () => {
    expect(plan(ds, nodes, [podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions }).creates).toEqual(['edge-1']);
    const p = plan(ds, nodes, [podOn(ds, 'edge-1'), podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions });
    expect(p.deletes.map((d) => d.node)).toEqual(['edge-2']);
  });

  it('replaces old pods that are unavailable anyway (counting them unavailable), and takes maxUnavailable (a percentage, rounded up) at a time', () => {
    const p = plan(ds, nodes, [podOn(old, 'edge-1', 'pending'), podOn(old, 'edge-2', 'pending'), podOn(old, 'edge-3')], { revisions });
    expect(p.deletes.map((d) => d.node)).toEqual(['edge-1', 'edge-2']);
    const wide = { ...ds, spec: { ...(ds['spec'] as Raw), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%', maxSurge: 0 } } } };
    expect(plan(wide, nodes, [podOn(old, 'edge-1'), podOn(old, 'edge-2'), podOn(old, 'edge-3')], { revisions }).deletes.map((d) => d.node)).toEqual(['edge-1', 'edge-2']);
  });

  it('reports the rollout complete when every node runs an available new pod', () => {
    const p = plan(ds, nodes, [podOn(ds, 'edge-1'), podOn(ds, 'edge-2'), podOn(ds, 'edge-3')], { revisions });
    expect(p.deletes).toEqual([]);
    expect(p.status).toMatchObject({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 });
  });
});

describe('given a template change with maxSurge 1 and maxUnavailable 0', () => {
  const old = daemonSet({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
  const ds = withImage(old, 'agent:2', 2);
  const nodes = [node('edge-1'), node('edge-2')];
  const revisions = [revisionFor(old, 1), revisionFor(ds, 2)];

  it('starts one new pod beside an old one, keeps both while the new one is not ready, then deletes the old one', () => {
    expect(plan(ds, nodes, [podOn(old, 'edge-1'), podOn(old, 'edge-2')], { revisions }).creates).toEqual(['edge-1']);
    const starting = plan(ds, nodes, [podOn(old, 'edge-1'), podOn(ds, 'edge-1', 'pending', '2025-01-01T00:05:00Z'), podOn(old, 'edge-2')], { revisions });
    expect(starting.creates).toEqual([]);
    expect(starting.deletes).toEqual([]);
    const oldPod = podOn(old, 'edge-1');
    const done = plan(ds, nodes, [oldPod, podOn(ds, 'edge-1', 'ready', '2025-01-01T00:05:00Z'), podOn(old, 'edge-2')], { revisions });
    expect(deletedNames(done)).toEqual([String((oldPod['metadata'] as Raw)['name'])]);
  });
});

describe('given a template change on a DaemonSet with OnDelete', () => {
  const old = daemonSet({ strategy: { type: 'OnDelete' } });
  const ds = withImage(old, 'agent:2', 2);
  const nodes = [node('edge-1'), node('edge-2')];
  const revisions = [revisionFor(old, 1), revisionFor(ds, 2)];

  it('leaves old pods alone, and a node whose pod the user deleted gets a new one', () => {
    expect(plan(ds, nodes, [podOn(old, 'edge-1'), podOn(old, 'edge-2')], { revisions }).deletes).toEqual([]);
    const p = plan(ds, nodes, [podOn(old, 'edge-2')], { revisions });
    expect(p.creates).toEqual(['edge-1']);
  });
});

describe('ControllerRevisions', () => {
  const v1 = daemonSet();
  const v2 = withImage(v1, 'agent:2', 2);

  it('records the first template as revision 1, named <ds>-<hash>, holding a patch that replaces spec.template', () => {
    const step = revisionStepOf(v1, []);
    const hash = templateHash((v1['spec'] as Raw)['template']);
    expect(step).toMatchObject({ kind: 'create', hash, revision: { metadata: { name: `agent-${hash}`, labels: { app: 'agent', [REVISION_HASH_LABEL]: hash } }, revision: 1 } });
    expect(step.kind === 'create' && (step.revision['data'] as { spec: { template: Raw } }).spec.template['$patch']).toBe('replace');
    expect(revisionStepOf(v1, [revisionFor(v1, 1)])).toEqual({ kind: 'current', hash });
  });

  it('records a new template as the next revision, and a rollback renumbers the old revision as the newest', () => {
    expect(revisionStepOf(v2, [revisionFor(v1, 1)])).toMatchObject({ kind: 'create', revision: { revision: 2 } });
    const undone = withImage(v2, 'agent:1', 3);
    expect(revisionStepOf(undone, [revisionFor(v1, 1), revisionFor(v2, 2)])).toMatchObject({ kind: 'renumber', number: 3, hash: templateHash((v1['spec'] as Raw)['template']) });
  });

  it('bumps collisionCount when <ds>-<hash> holds another template', () => {
    const impostor = { ...revisionFor(v1, 1), metadata: { ...(revisionFor(v1, 1)['metadata'] as Raw), name: `agent-${templateHash((v2['spec'] as Raw)['template'])}` } };
    expect(revisionStepOf(v2, [impostor])).toEqual({ kind: 'collision', collisionCount: 1 });
  });

  it('prunes the oldest revisions beyond revisionHistoryLimit that no pod comes from', () => {
    const versions = [1, 2, 3, 4].map((n) => withImage(daemonSet({ revisionHistoryLimit: 1 }), `agent:${n}`, n));
    const revisions = versions.map((v, i) => revisionFor(v, i + 1));
    const current = versions[3]!;
    const p = plan(current, [node('edge-1')], [podOn(versions[0]!, 'edge-1')], { revisions });
    // Three old revisions, one kept: revision 1 stays for the pod that still runs it, 2 and 3 go.
    expect(p.revisionsToDelete.map((r) => r['revision'])).toEqual([2, 3]);
  });
});

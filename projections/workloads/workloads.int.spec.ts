// The ReplicaSet and Deployment controllers against the embedded API server, through client-node.
// Method: given Deployments and ReplicaSets written through the API and a stand-in kubelet that
// marks pods Running and Ready, when the controllers run, then the pods, ReplicaSets and statuses
// converge as kube-controller-manager's would: counts, revisions, rolling bounds, Recreate's gap.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../k8s/api/api-server.testing.js';
import { REVISION_ANNOTATION } from './deployment.plan.js';
import { WorkloadFixture, deploymentBody, type WorkloadWorld } from './workloads.testing.js';

const fixture = new WorkloadFixture();
afterEach(() => fixture.teardown());

const NS = 'default';
/** Patches as kubectl sends them: strategic merge (containers merge by name). */
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const ROLLOUT_TIMEOUT_MS = 20_000;

const podsOf = async (w: WorkloadWorld, app: string): Promise<V1Pod[]> => (await w.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
const replicaSetsOf = async (w: WorkloadWorld, app: string): Promise<V1ReplicaSet[]> => (await w.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${app}` })).items;
const revision = (rs: V1ReplicaSet): string | undefined => rs.metadata?.annotations?.[REVISION_ANNOTATION];

/** kubectl rollout status's rule: observed, all updated, no old pods left, all updated available. */
function rolledOut(d: V1Deployment): boolean {
  const s = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === desired && (s.replicas ?? 0) === desired && (s.availableReplicas ?? 0) === desired;
}

async function rolloutDone(w: WorkloadWorld, name: string): Promise<V1Deployment> {
  return waitFor(`deployment ${name} rolled out`, async () => {
    const d = await w.apps.readNamespacedDeployment({ name, namespace: NS });
    return rolledOut(d) ? d : undefined;
  }, ROLLOUT_TIMEOUT_MS);
}

describe('given a new Deployment of 3 replicas', () => {
  it('creates one ReplicaSet at revision 1 with 3 pods and reports the rollout complete', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('web', 3, ['sleep', '3600']) });
    const done = await rolloutDone(w, 'web');

    expect(done.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    const progressing = done.status?.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(done.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    const sets = await replicaSetsOf(w, 'web');
    expect(sets).toHaveLength(1);
    expect(revision(sets[0]!)).toBe('1');
    expect(sets[0]!.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    const pods = await podsOf(w, 'web');
    expect(pods).toHaveLength(3);
    const hash = sets[0]!.metadata?.labels?.['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    for (const pod of pods) {
      expect(pod.metadata?.name).toMatch(new RegExp(`^web-${hash}-`));
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: sets[0]!.metadata?.name, controller: true });
    }
  });
});

describe('given a rolled-out Deployment', () => {
  it('rolls a template change onto a new ReplicaSet at revision 2, never past maxSurge, and scales the old one to 0', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('roll', 4, ['sleep', '1']) });
    await rolloutDone(w, 'roll');
    w.peakActive.set('roll', 0);

    await w.apps.patchNamespacedDeployment({ name: 'roll', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '2'] }] } } } } }, smp);
    const done = await rolloutDone(w, 'roll');

    const sets = await replicaSetsOf(w, 'roll');
    expect(sets.map((rs) => [revision(rs), rs.spec?.replicas]).sort()).toEqual([['1', 0], ['2', 4]]);
    const current = sets.find((rs) => revision(rs) === '2')!;
    const pods = await podsOf(w, 'roll');
    expect(pods).toHaveLength(4);
    expect(pods.every((p) => p.spec?.containers[0]?.command?.[1] === '2' && p.metadata?.labels?.['pod-template-hash'] === current.metadata?.labels?.['pod-template-hash'])).toBe(true);
    // 25% of 4: at most one pod above the desired count at any time.
    expect(w.peakActive.get('roll')).toBeLessThanOrEqual(5);
    expect(done.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
  });

  it('scales up and down through spec.replicas', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('scaled', 2, ['sleep', '1']) });
    await rolloutDone(w, 'scaled');

    await w.apps.patchNamespacedDeployment({ name: 'scaled', namespace: NS, body: { spec: { replicas: 5 } } }, smp);
    await rolloutDone(w, 'scaled');
    expect(await podsOf(w, 'scaled')).toHaveLength(5);

    await w.apps.patchNamespacedDeployment({ name: 'scaled', namespace: NS, body: { spec: { replicas: 1 } } }, smp);
    await rolloutDone(w, 'scaled');
    await waitFor('one pod left', async () => ((await podsOf(w, 'scaled')).length === 1 ? true : undefined));
    expect((await replicaSetsOf(w, 'scaled')).map((rs) => rs.spec?.replicas)).toEqual([1]);
    // The ReplicaSet is annotated, then scaled at the revision that write returned: no write of ours conflicts with our own.
    expect(w.deploymentLog.filter((line) => line.includes('changed meanwhile'))).toEqual([]);
  });

  it('makes the old ReplicaSet current again, at a new revision, when its template comes back (kubectl rollout undo)', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('undo', 2, ['sleep', '1']) });
    await rolloutDone(w, 'undo');
    const first = (await replicaSetsOf(w, 'undo'))[0]!;
    await w.apps.patchNamespacedDeployment({ name: 'undo', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '2'] }] } } } } }, smp);
    await rolloutDone(w, 'undo');

    // What kubectl rollout undo sends: the old ReplicaSet's template, without its hash label.
    const template = structuredClone(first.spec!.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    await w.apps.patchNamespacedDeployment({ name: 'undo', namespace: NS, body: { spec: { template } } }, smp);
    await rolloutDone(w, 'undo');

    const sets = await replicaSetsOf(w, 'undo');
    expect(sets).toHaveLength(2);
    const back = sets.find((rs) => rs.metadata?.uid === first.metadata?.uid)!;
    expect(revision(back)).toBe('3');
    expect(back.spec?.replicas).toBe(2);
    expect(sets.find((rs) => rs !== back)?.spec?.replicas).toBe(0);
  });

  it('trims old ReplicaSets beyond revisionHistoryLimit', async () => {
    const w = await fixture.start();
    const body = deploymentBody('history', 1, ['sleep', '0']);
    await w.apps.createNamespacedDeployment({ namespace: NS, body: { ...body, spec: { ...body.spec, revisionHistoryLimit: 1 } } });
    for (const seconds of ['1', '2', '3']) {
      await rolloutDone(w, 'history');
      await w.apps.patchNamespacedDeployment({ name: 'history', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', seconds] }] } } } } }, smp);
    }
    await rolloutDone(w, 'history');
    const sets = await waitFor('history trimmed to one old ReplicaSet', async () => {
      const found = await replicaSetsOf(w, 'history');
      return found.length === 2 ? found : undefined;
    });
    expect(sets.map(revision).sort()).toEqual(['3', '4']);
  });
});

describe('given a Deployment with the Recreate strategy', () => {
  it('stops every old pod before it starts a new one', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('recreate', 3, ['sleep', '1'], { strategy: { type: 'Recreate' } }) });
    await rolloutDone(w, 'recreate');
    w.peakActive.set('recreate', 0);

    await w.apps.patchNamespacedDeployment({ name: 'recreate', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '2'] }] } } } } }, smp);
    await rolloutDone(w, 'recreate');
    expect(w.peakActive.get('recreate')).toBe(3);
    expect((await podsOf(w, 'recreate')).every((p) => p.spec?.containers[0]?.command?.[1] === '2')).toBe(true);
  });
});

describe('given a Deployment whose pods never become ready', () => {
  it('keeps the old pods serving and reports the new ReplicaSet progressing but not available', async () => {
    const w = await fixture.start();
    await w.apps.createNamespacedDeployment({ namespace: NS, body: deploymentBody('stuck', 2, ['sleep', '1']) });
    await rolloutDone(w, 'stuck');
    w.kubeletReady = false;

    await w.apps.patchNamespacedDeployment({ name: 'stuck', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '2'] }] } } } } }, smp);
    const status = await waitFor('the new ReplicaSet up by maxSurge', async () => {
      const d = await w.apps.readNamespacedDeployment({ name: 'stuck', namespace: NS });
      return d.status?.updatedReplicas === 1 ? d.status : undefined;
    });
    // 25% of 2: surge 1, unavailable 0 — so both old pods stay until the new one is ready.
    expect(status.availableReplicas).toBe(2);
    expect(status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    const old = (await replicaSetsOf(w, 'stuck')).find((rs) => revision(rs) === '1');
    expect(old?.spec?.replicas).toBe(2);
  });
});

describe('given a ReplicaSet on its own', () => {
  it('replaces a deleted pod and adopts a matching orphan instead of creating one', async () => {
    const w = await fixture.start();
    await w.core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'orphan', labels: { app: 'solo' } }, spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '1'] }] } } });
    await w.apps.createNamespacedReplicaSet({ namespace: NS, body: { metadata: { name: 'solo' }, spec: { replicas: 2, selector: { matchLabels: { app: 'solo' } }, template: { metadata: { labels: { app: 'solo' } }, spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '1'] }] } } } } });
    const pods = await waitFor('two pods of solo', async () => {
      const found = await podsOf(w, 'solo');
      return found.length === 2 && found.every((p) => p.metadata?.ownerReferences?.[0]?.name === 'solo') ? found : undefined;
    });
    expect(pods.map((p) => p.metadata?.name)).toContain('orphan');

    const victim = pods.find((p) => p.metadata?.name !== 'orphan')!;
    await w.core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace: NS });
    const after = await waitFor('a replacement pod', async () => {
      const found = await podsOf(w, 'solo');
      return found.length === 2 && !found.some((p) => p.metadata?.uid === victim.metadata?.uid) ? found : undefined;
    });
    expect(after.map((p) => p.metadata?.name)).toContain('orphan');
    await waitFor('status says 2 ready', async () => {
      const rs = await w.apps.readNamespacedReplicaSet({ name: 'solo', namespace: NS });
      return rs.status?.readyReplicas === 2 && rs.status.availableReplicas === 2 ? rs : undefined;
    });
  });
});

// The namespace controller against the embedded API server, through client-node. Method: given a
// namespace with content written through the API and the controller running, when the namespace is
// deleted, then it is Terminating and refuses new content, its content is deleted (a pod on a node
// stays Terminating until its node's final delete, simulated here with grace 0), its conditions say
// what remains, and it is gone once nothing is left.
import { ApiException, CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { NamespaceController } from './namespace-controller.js';

const fixture = new ApiServerFixture();
const controllers: NamespaceController[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) await controller.stop();
  await fixture.teardown();
});

async function world(): Promise<{ core: CoreV1Api; kc: KubeConfig }> {
  const kc = kubeConfigOf(await fixture.start());
  const controller = new NamespaceController({ kubeConfig: kc, now: () => new Date(), recheckDelayMs: 50 });
  controllers.push(controller);
  controller.start();
  return { core: kc.makeApiClient(CoreV1Api), kc };
}

/** The value of a call, or the ApiException it failed with. */
async function outcome<T>(call: Promise<T>): Promise<T | ApiException<unknown>> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiException) return error as ApiException<unknown>;
    throw error;
  }
}

const conditionOf = (namespace: V1Namespace, type: string) => namespace.status?.conditions?.find((c) => c.type === type);
const absent = async (read: Promise<unknown>): Promise<true | undefined> => {
  const result = await outcome(read);
  return result instanceof ApiException && result.code === 404 ? true : undefined;
};

describe('given a namespace with a ConfigMap, a Secret and a pod bound to a node', () => {
  it('deletes the content, keeps the namespace Terminating while the pod terminates on its node, and removes it after the node deletes the pod', async () => {
    const { core } = await world();
    const namespace = 'team';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { a: '1' } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'token' }, stringData: { t: 'x' } } });
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'web' }, spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none', command: ['sleep', '100'] }] } } });

    const deleted = await core.deleteNamespace({ name: namespace });
    expect((deleted as V1Namespace).status?.phase).toBe('Terminating');

    const refused = await outcome(core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'late' } } }));
    expect(refused).toBeInstanceOf(ApiException);
    const status = JSON.parse(String((refused as ApiException<string>).body)) as { message: string; details: { causes: { reason: string }[] } };
    expect((refused as ApiException<unknown>).code).toBe(403);
    expect(status.message).toBe('configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated');
    expect(status.details.causes[0]?.reason).toBe('NamespaceTerminating');

    await waitFor('the ConfigMap deleted', () => absent(core.readNamespacedConfigMap({ name: 'settings', namespace })));
    await waitFor('the Secret deleted', () => absent(core.readNamespacedSecret({ name: 'token', namespace })));
    const terminating = await waitFor('the pod Terminating and named as remaining content', async () => {
      const ns = await core.readNamespace({ name: namespace });
      return conditionOf(ns, 'NamespaceContentRemaining')?.status === 'True' ? ns : undefined;
    });
    expect(terminating.status?.phase).toBe('Terminating');
    expect(conditionOf(terminating, 'NamespaceContentRemaining')).toMatchObject({ reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods. has 1 resource instances' });
    expect(conditionOf(terminating, 'NamespaceDeletionContentFailure')).toMatchObject({ status: 'False', reason: 'ContentDeleted' });
    const pod = await core.readNamespacedPod({ name: 'web', namespace });
    expect(pod.metadata?.deletionTimestamp).toBeDefined();
    expect(terminating.spec?.finalizers).toEqual(['kubernetes']);

    // The node has stopped the pod and confirms, as the edge does.
    await core.deleteNamespacedPod({ name: 'web', namespace, gracePeriodSeconds: 0 });
    await waitFor('the namespace removed', () => absent(core.readNamespace({ name: namespace })));
  });
});

describe('given a namespace whose content includes an object with a finalizer', () => {
  it('names the finalizer in NamespaceFinalizersRemaining and keeps the namespace until the finalizer is removed', async () => {
    const { core } = await world();
    const namespace = 'held';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kept', finalizers: ['example.com/keep'] } } });
    await core.deleteNamespace({ name: namespace });
    const waiting = await waitFor('the finalizer named', async () => {
      const ns = await core.readNamespace({ name: namespace });
      return conditionOf(ns, 'NamespaceFinalizersRemaining')?.status === 'True' ? ns : undefined;
    });
    expect(conditionOf(waiting, 'NamespaceFinalizersRemaining')?.message).toBe('Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances');
    expect(conditionOf(waiting, 'NamespaceContentRemaining')?.message).toBe('Some resources are remaining: configmaps. has 1 resource instances');

    await core.patchNamespacedConfigMap({ name: 'kept', namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor('the namespace removed', () => absent(core.readNamespace({ name: namespace })));
  });
});

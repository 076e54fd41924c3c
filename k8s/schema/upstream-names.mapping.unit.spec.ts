// Mapping client-node model names back to upstream definition names, given/when/then: given a model
// name, when it is mapped, then the upstream name is the one kube-apiserver's OpenAPI uses. Each of the
// mapping's steps is shown by a model only that step can resolve; then properties over all models.
import { describe, expect, it } from 'vitest';
import { upstreamNameFromSchemaFile } from './kubernetes-models.catalog.js';
import { clientModelNames, parseModelName, upstreamDefinitionName } from './upstream-names.mapping.js';

describe('given kubernetes-models schema file names', () => {
  it.each([
    ['IoK8sApiCoreV1Pod', 'io.k8s.api.core.v1.Pod'],
    ['IoK8sApiAppsV1DeploymentSpec', 'io.k8s.api.apps.v1.DeploymentSpec'],
    ['IoK8sApiAutoscalingV2beta2MetricSpec', 'io.k8s.api.autoscaling.v2beta2.MetricSpec'],
    ['IoK8sApimachineryPkgApisMetaV1ObjectMeta', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'],
    ['IoK8sApimachineryPkgUtilIntstrIntOrString', 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'],
    ['IoK8sApiextensionsApiserverPkgApisApiextensionsV1JSONSchemaProps', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps'],
    ['IoK8sKubeAggregatorPkgApisApiregistrationV1APIService', 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService'],
  ])('when %s is read, then it names %s', (stem, upstream) => {
    expect(upstreamNameFromSchemaFile(stem)).toBe(upstream);
  });

  it('when a file name belongs to no known family, then there is no upstream name', () => {
    expect(upstreamNameFromSchemaFile('SomethingElse')).toBeUndefined();
  });
});

describe('given client-node model names', () => {
  it('when they are split, then group prefix, version and kind come apart', () => {
    expect(parseModelName('CoreV1Event')).toEqual({ group: 'core', version: 'v1', kind: 'Event' });
    expect(parseModelName('V1beta2ResourceClaim')).toEqual({ group: undefined, version: 'v1beta2', kind: 'ResourceClaim' });
    expect(parseModelName('V1APIService')).toEqual({ group: undefined, version: 'v1', kind: 'APIService' });
    expect(parseModelName('VersionInfo')).toBeUndefined();
  });

  it.each([
    // (version, kind) known to kubernetes-models, unique:
    ['V1Pod', 'io.k8s.api.core.v1.Pod'],
    ['V1Deployment', 'io.k8s.api.apps.v1.Deployment'],
    ['V1Lease', 'io.k8s.api.coordination.v1.Lease'],
    ['V1ObjectMeta', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'],
    ['V1MicroTime', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'],
    ['V1CustomResourceDefinition', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition'],
    ['V1APIService', 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService'],
    // a group prefix narrows kinds several packages share:
    ['CoreV1Event', 'io.k8s.api.core.v1.Event'],
    ['EventsV1Event', 'io.k8s.api.events.v1.Event'],
    ['ApiextensionsV1ServiceReference', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ServiceReference'],
    ['ApiregistrationV1ServiceReference', 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.ServiceReference'],
    ['AdmissionregistrationV1ServiceReference', 'io.k8s.api.admissionregistration.v1.ServiceReference'],
    // a group prefix kubernetes-models has never seen still names the package:
    ['ResourceV1ResourceClaim', 'io.k8s.api.resource.v1.ResourceClaim'],
    // only client-node's API classes know the group (resource.k8s.io/v1 is newer than kubernetes-models):
    ['V1DeviceClass', 'io.k8s.api.resource.v1.DeviceClass'],
    ['V1alpha1StorageVersion', 'io.k8s.api.apiserverinternal.v1alpha1.StorageVersion'],
    // only a referring type knows the package:
    ['V1DeviceClassSpec', 'io.k8s.api.resource.v1.DeviceClassSpec'],
    ['V1ContainerRestartRule', 'io.k8s.api.core.v1.ContainerRestartRule'],
    // by hand:
    ['VersionInfo', 'io.k8s.apimachinery.pkg.version.Info'],
  ])('when %s is mapped, then it is %s', (model, upstream) => {
    expect(upstreamDefinitionName(model)).toBe(upstream);
  });

  it('when a name is no model at all, then there is no upstream name', () => {
    expect(upstreamDefinitionName('NotAModel')).toBeUndefined();
  });
});

describe('given every model client-node generates', () => {
  const models = clientModelNames();

  it('then there are hundreds, and every one maps to an upstream name ending in its kind and version', () => {
    expect(models.length).toBeGreaterThan(500);
    const mismatched = models.filter((model) => {
      const upstream = upstreamDefinitionName(model);
      const parts = parseModelName(model);
      if (upstream === undefined) return true;
      if (parts === undefined) return model !== 'VersionInfo';
      return !upstream.endsWith(`.${parts.version}.${parts.kind}`);
    });
    expect(mismatched).toEqual([]);
  });

  it('then no two models map to the same upstream definition', () => {
    const byUpstream = new Map<string, string[]>();
    for (const model of models) {
      const upstream = upstreamDefinitionName(model) ?? '';
      byUpstream.set(upstream, [...(byUpstream.get(upstream) ?? []), model]);
    }
    expect([...byUpstream.entries()].filter(([, names]) => names.length > 1)).toEqual([]);
  });
});

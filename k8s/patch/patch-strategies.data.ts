// Vendored patch metadata of the built-in types: how strategic merge patch and server-side apply
// treat each list, map and struct, keyed by client-node model name + JSON field name.
//
// Source: Kubernetes v1.34, copied by hand from the Go struct tags `patchStrategy` /
// `patchMergeKey` and the markers `+listType`, `+listMapKey`, `+mapType`, `+structType`, `+default`
// (published in the OpenAPI as x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key,
// x-kubernetes-list-type, x-kubernetes-list-map-keys, x-kubernetes-map-type) in:
//   k8s.io/api/core/v1/types.go            (staging/src/k8s.io/api/core/v1/types.go)
//   k8s.io/api/apps/v1/types.go
//   k8s.io/api/coordination/v1/types.go    (Lease: no lists, nothing to record)
//   k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/types.go
//   k8s.io/apimachinery/pkg/apis/meta/v1/types.go
// It covers Namespace, Node, Pod, ConfigMap, Secret, Service, Endpoints, Event, ServiceAccount,
// Lease, Deployment, ReplicaSet, DaemonSet, CustomResourceDefinition and every type they contain
// (plus the few StatefulSet, ReplicationController and PersistentVolumeClaim entries known).
// The client-node type graph (k8s/schema/type-graph.ts) has the field names and types but not this.

import type { JsonValue } from '../../kernel/index.js';

/** The `patchStrategy` struct tag; `replace` is the default of lists and is never written down. */
export type PatchStrategy = 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';

/** What strategic merge patch knows about one field. */
export interface PatchMeta {
  readonly strategy: PatchStrategy;
  /** The `patchMergeKey`, for lists of objects merged by key. */
  readonly mergeKey?: string;
}

const mergeBy = (mergeKey: string): PatchMeta => ({ strategy: 'merge', mergeKey });
const mergeRetainBy = (mergeKey: string): PatchMeta => ({ strategy: 'merge,retainKeys', mergeKey });
const mergePrimitives: PatchMeta = { strategy: 'merge' };

/** Container and EphemeralContainer share these tags (EphemeralContainerCommon mirrors Container). */
const containerFields = (type: string): Record<string, PatchMeta> => ({
  [`${type}.ports`]: mergeBy('containerPort'),
  [`${type}.env`]: mergeBy('name'),
  [`${type}.volumeMounts`]: mergeBy('mountPath'),
  [`${type}.volumeDevices`]: mergeBy('devicePath'),
});

/**
 * Strategic merge patch metadata: every field upstream tags with `patchStrategy`. A list that is
 * not here is replaced wholesale by a patch; a struct is merged field by field.
 */
export const patchStrategies: Readonly<Record<string, PatchMeta>> = {
  // meta/v1
  'V1ObjectMeta.finalizers': mergePrimitives,
  'V1ObjectMeta.ownerReferences': mergeBy('uid'),
  // core/v1 Pod
  'V1PodSpec.volumes': mergeRetainBy('name'),
  'V1PodSpec.initContainers': mergeBy('name'),
  'V1PodSpec.containers': mergeBy('name'),
  'V1PodSpec.ephemeralContainers': mergeBy('name'),
  'V1PodSpec.imagePullSecrets': mergeBy('name'),
  'V1PodSpec.hostAliases': mergeBy('ip'),
  'V1PodSpec.topologySpreadConstraints': mergeBy('topologyKey'),
  'V1PodSpec.schedulingGates': mergeBy('name'),
  'V1PodSpec.resourceClaims': mergeRetainBy('name'),
  ...containerFields('V1Container'),
  ...containerFields('V1EphemeralContainer'),
  'V1PodStatus.conditions': mergeBy('type'),
  'V1PodStatus.podIPs': mergeBy('ip'),
  'V1PodStatus.hostIPs': mergeBy('ip'),
  'V1PodStatus.resourceClaimStatuses': mergeRetainBy('name'),
  'V1ContainerStatus.volumeMounts': mergeBy('mountPath'),
  'V1ContainerStatus.allocatedResourcesStatus': mergeBy('name'),
  // core/v1 Node, Namespace, Service, ServiceAccount
  'V1NodeSpec.podCIDRs': mergePrimitives,
  'V1NodeStatus.conditions': mergeBy('type'),
  'V1NodeStatus.addresses': mergeBy('type'),
  'V1NamespaceStatus.conditions': mergeBy('type'),
  'V1ServiceSpec.ports': mergeBy('port'),
  'V1ServiceStatus.conditions': mergeBy('type'),
  'V1ServiceAccount.secrets': mergeBy('name'),
  // core/v1 types outside the kinds above, kept because they are cheap and well known
  'V1ReplicationControllerStatus.conditions': mergeBy('type'),
  'V1PersistentVolumeClaimStatus.conditions': mergeBy('type'),
  'V1ComponentStatus.conditions': mergeBy('type'),
  // apps/v1
  'V1DeploymentSpec.strategy': { strategy: 'retainKeys' },
  'V1DeploymentStatus.conditions': mergeBy('type'),
  'V1ReplicaSetStatus.conditions': mergeBy('type'),
  'V1DaemonSetStatus.conditions': mergeBy('type'),
  'V1StatefulSetStatus.conditions': mergeBy('type'),
  // apiextensions/v1 has no patchStrategy tags: its lists are replaced by strategic merge patch.
};

/** `+listType`: how server-side apply merges a list. Lists not listed in `listTypes` are atomic. */
export type ListType =
  | { readonly type: 'atomic' }
  | { readonly type: 'set' }
  | { readonly type: 'map'; readonly keys: readonly string[] };

const mapBy = (...keys: string[]): ListType => ({ type: 'map', keys });
const set: ListType = { type: 'set' };

const containerLists = (type: string): Record<string, ListType> => ({
  [`${type}.ports`]: mapBy('containerPort', 'protocol'),
  [`${type}.env`]: mapBy('name'),
  [`${type}.volumeMounts`]: mapBy('mountPath'),
  [`${type}.volumeDevices`]: mapBy('devicePath'),
});

/**
 * Server-side apply list semantics of every granular (`set` or `map`) list. Upstream marks all
 * other lists of these types `+listType=atomic` (or leaves them unmarked, which apply treats
 * as atomic), so they are left out.
 */
export const listTypes: Readonly<Record<string, ListType>> = {
  // meta/v1
  'V1ObjectMeta.finalizers': set,
  'V1ObjectMeta.ownerReferences': mapBy('uid'),
  // core/v1 Pod
  'V1PodSpec.volumes': mapBy('name'),
  'V1PodSpec.initContainers': mapBy('name'),
  'V1PodSpec.containers': mapBy('name'),
  'V1PodSpec.ephemeralContainers': mapBy('name'),
  'V1PodSpec.imagePullSecrets': mapBy('name'),
  'V1PodSpec.hostAliases': mapBy('ip'),
  'V1PodSpec.topologySpreadConstraints': mapBy('topologyKey', 'whenUnsatisfiable'),
  'V1PodSpec.schedulingGates': mapBy('name'),
  'V1PodSpec.resourceClaims': mapBy('name'),
  ...containerLists('V1Container'),
  ...containerLists('V1EphemeralContainer'),
  'V1ResourceRequirements.claims': mapBy('name'),
  'V1PodStatus.conditions': mapBy('type'),
  'V1PodStatus.podIPs': mapBy('ip'),
  // V1PodStatus.hostIPs is patchStrategy=merge but +listType=atomic upstream.
  'V1PodStatus.resourceClaimStatuses': mapBy('name'),
  'V1ContainerStatus.volumeMounts': mapBy('mountPath'),
  'V1ContainerStatus.allocatedResourcesStatus': mapBy('name'),
  'V1ResourceStatus.resources': mapBy('resourceID'),
  // core/v1 Node, Namespace, Service, ServiceAccount
  'V1NodeSpec.podCIDRs': set,
  'V1NodeStatus.conditions': mapBy('type'),
  'V1NodeStatus.addresses': mapBy('type'),
  'V1NamespaceStatus.conditions': mapBy('type'),
  'V1ServiceSpec.ports': mapBy('port', 'protocol'),
  'V1ServiceStatus.conditions': mapBy('type'),
  'V1ServiceAccount.secrets': mapBy('name'),
  'V1ReplicationControllerStatus.conditions': mapBy('type'),
  'V1PersistentVolumeClaimStatus.conditions': mapBy('type'),
  'V1ComponentStatus.conditions': mapBy('type'),
  // apps/v1
  'V1DeploymentStatus.conditions': mapBy('type'),
  'V1ReplicaSetStatus.conditions': mapBy('type'),
  'V1DaemonSetStatus.conditions': mapBy('type'),
  'V1StatefulSetStatus.conditions': mapBy('type'),
  // apiextensions/v1
  'V1CustomResourceDefinitionStatus.conditions': mapBy('type'),
};

/**
 * `+default` values of list-map key fields. Apply fills a missing key from its default when it
 * builds an item's identity, so a port without `protocol` is `k:{"containerPort":80,"protocol":"TCP"}`.
 */
export const listMapKeyDefaults: Readonly<Record<string, JsonValue>> = {
  'V1ContainerPort.protocol': 'TCP',
  'V1ServicePort.protocol': 'TCP',
};

/** `+structType=atomic`: apply owns these structs as a whole, never field by field. */
export const atomicStructTypes: ReadonlySet<string> = new Set([
  'V1ObjectReference',
  'V1LocalObjectReference',
  'V1TypedLocalObjectReference',
  'V1SecretReference',
  'V1NodeSelector',
  'V1NodeSelectorTerm',
  'V1TopologySelectorTerm',
  'V1ObjectFieldSelector',
  'V1ResourceFieldSelector',
  'V1ConfigMapKeySelector',
  'V1SecretKeySelector',
  'V1EndpointAddress',
  'CoreV1EndpointPort',
  'V1ScopeSelector',
  'V1OwnerReference',
  'V1LabelSelector',
]);

/** `+mapType=atomic`: apply owns these string maps as a whole. Other maps are granular per key. */
export const atomicMapFields: ReadonlySet<string> = new Set([
  'V1PodSpec.nodeSelector',
  'V1ServiceSpec.selector',
  'V1ReplicationControllerSpec.selector',
]);

// What an edge may say in a frame (PROTOCOL.md "Authorization"): only things about its own node,
// pods bound to it, devices bound to it, and ConfigMaps/Secrets those pods reference. This is the
// Kubernetes node authorizer's rule set applied per frame; a pure function over the cloud's view,
// plus the counter that turns repeated refusals into a 4403 close.
import { type Result, assertNever, err, invariant, ok } from '../../kernel/index.js';
import { EVENT_BUS_UPLOAD_PREFIX, formatWireResource, isUploadTopic, type WireResource } from '../frames/resource.js';

/**
 * The cloud's current knowledge, as the projections keep it. Lookups are synchronous reads of an
 * in-memory view, so authorizing a frame never waits on the API server.
 */
export interface NodeAuthorizationView {
  /** The node a pod is bound to (`spec.nodeName`), or undefined if the pod is unknown or unscheduled. */
  podNode(namespace: string, name: string): string | undefined;
  /** The node a device is bound to (`spec.nodeName`), or undefined. */
  deviceNode(namespace: string, name: string): string | undefined;
  /** Whether some pod bound to `nodeName` references this ConfigMap (volume, env, envFrom, projected). */
  configMapReferencedBy(nodeName: string, namespace: string, name: string): boolean;
  /** Whether some pod bound to `nodeName` references this Secret (volume, env, envFrom, projected, imagePullSecrets). */
  secretReferencedBy(nodeName: string, namespace: string, name: string): boolean;
}

/** Why an edge was allowed: for the debug log and for tests that check the right rule fired. */
export type AuthorizationGrant = 'OwnNode' | 'OwnLease' | 'BoundPod' | 'BoundDevice' | 'ReferencedConfigMap' | 'ReferencedSecret' | 'ClusterCa' | 'OwnEventBusUpload';

/** Why a frame was refused. `reason` is one sentence, fit for the error response and the log. */
export type AuthorizationRefusal = {
  readonly kind: 'OtherNode' | 'PodNotBound' | 'PodUnknown' | 'DeviceNotBound' | 'DeviceUnknown' | 'NotReferenced' | 'ReadOnly' | 'ListNotAllowed' | 'ResourceTypeNotAllowed';
  readonly nodeName: string;
  readonly resource: string;
  readonly operation: string;
  readonly reason: string;
};

/** The namespace Kubernetes keeps node heartbeat Leases in. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/**
 * Decides whether `nodeName` may send `operation` on `resource`. Resource types outside the list
 * are refused, list resources always (a list would show other nodes' objects), and ConfigMaps,
 * Secrets and the cluster CA are read-only (`query`), as Kubernetes lets a node read but not write them.
 * @example
 * const decision = authorizeEdgeFrame('edge-1', frame.route.resource, frame.route.operation, view);
 * if (!decision.ok) sendError(frame, decision.error.reason);
 */
export function authorizeEdgeFrame(
  nodeName: string,
  resource: WireResource,
  operation: string,
  view: NodeAuthorizationView,
): Result<AuthorizationGrant, AuthorizationRefusal> {
  const decision = decide(nodeName, resource, operation, view);
  if (decision.ok) return decision;
  // Every frame an edge sends passes here, so the refusal is dressed only when there is one.
  return err({ ...decision.error, nodeName, resource: formatWireResource(resource), operation });
}

/** A refusal before it names the node, resource and operation (added once, by authorizeEdgeFrame). */
type Refusal = Pick<AuthorizationRefusal, 'kind' | 'reason'>;
type Decision = Result<AuthorizationGrant, Refusal>;
type ObjectResource = Extract<WireResource, { kind: 'object' }>;

const refuse = (kind: Refusal['kind'], reason: string): Decision => err({ kind, reason });

function decide(nodeName: string, resource: WireResource, operation: string, view: NodeAuthorizationView): Decision {
  switch (resource.kind) {
    case 'caCert':
      // The CA certificate is public; every node already holds it from the join.
      return operation === 'query' ? ok('ClusterCa') : refuse('ReadOnly', 'the cluster CA can only be queried');
    case 'list':
      return refuse('ListNotAllowed', `a list of ${resource.type} would include objects of other nodes; name one object`);
    case 'deviceEvent':
      return authorizeDevice(nodeName, resource.namespace, resource.name, view);
    case 'object':
      return authorizeObject(nodeName, resource, operation, view);
    case 'serviceBus':
      // Service-bus calls go cloud to edge; an edge app calling the cloud is not served here.
      return refuse('ResourceTypeNotAllowed', 'service-bus calls go from the cloud to an edge, not from an edge');
    case 'eventBus':
      // An upload names no node: it is the sending edge's by the connection, as KubeEdge's CloudHub prepends node/<nodeID>/.
      if (operation === 'upload' && isUploadTopic(resource.topic)) return ok('OwnEventBusUpload');
      return refuse('ResourceTypeNotAllowed', `an edge sends EventBus messages only as uploads on ${EVENT_BUS_UPLOAD_PREFIX}…`);
    default:
      return assertNever(resource);
  }
}

function authorizeObject(
  nodeName: string,
  resource: ObjectResource,
  operation: string,
  view: NodeAuthorizationView,
): Decision {
  const { namespace, name, type } = resource;
  switch (type) {
    case 'node':
    case 'nodestatus':
    case 'nodepatch':
      return name === nodeName ? ok('OwnNode') : refuse('OtherNode', `node "${nodeName}" may not act on node "${name}"`);
    case 'lease':
      if (namespace === NODE_LEASE_NAMESPACE && name === nodeName) return ok('OwnLease');
      return refuse('OtherNode', `node "${nodeName}" may only renew lease ${NODE_LEASE_NAMESPACE}/${nodeName}`);
    case 'pod':
    case 'podstatus':
    case 'podpatch':
      return authorizePod(nodeName, namespace ?? '', name, view);
    case 'device':
      return authorizeDevice(nodeName, namespace ?? '', name, view);
    case 'configmap':
      if (operation !== 'query') return refuse('ReadOnly', 'an edge may read a ConfigMap, never write it');
      if (view.configMapReferencedBy(nodeName, namespace ?? '', name)) return ok('ReferencedConfigMap');
      return refuse('NotReferenced', `no pod bound to "${nodeName}" references ConfigMap ${namespace ?? ''}/${name}`);
    case 'secret':
      if (operation !== 'query') return refuse('ReadOnly', 'an edge may read a Secret, never write it');
      if (view.secretReferencedBy(nodeName, namespace ?? '', name)) return ok('ReferencedSecret');
      return refuse('NotReferenced', `no pod bound to "${nodeName}" references Secret ${namespace ?? ''}/${name}`);
    default:
      return refuse('ResourceTypeNotAllowed', `an edge may not send ${type} resources (only its node, lease, bound pods and devices, referenced ConfigMaps and Secrets)`);
  }
}

function authorizePod(nodeName: string, namespace: string, name: string, view: NodeAuthorizationView): Decision {
  const boundTo = view.podNode(namespace, name);
  if (boundTo === nodeName) return ok('BoundPod');
  // Unknown: deleted meanwhile, or never there; the caller may treat a stale report more gently.
  if (boundTo === undefined) return refuse('PodUnknown', `pod ${namespace}/${name} is not bound to any node the cloud knows, not to "${nodeName}"`);
  return refuse('PodNotBound', `pod ${namespace}/${name} is bound to another node, not to "${nodeName}"`);
}

function authorizeDevice(nodeName: string, namespace: string, name: string, view: NodeAuthorizationView): Decision {
  const boundTo = view.deviceNode(namespace, name);
  if (boundTo === nodeName) return ok('BoundDevice');
  if (boundTo === undefined) return refuse('DeviceUnknown', `device ${namespace}/${name} is not bound to any node the cloud knows, not to "${nodeName}"`);
  return refuse('DeviceNotBound', `device ${namespace}/${name} is bound to another node, not to "${nodeName}"`);
}

/** When repeated refusals end a connection: the `violationsMax`-th refusal within `windowMs` closes it. */
export interface ViolationLimits {
  readonly violationsMax: number;
  readonly windowMs: number;
}

/**
 * Ten refusals a minute: a buggy edge that hits one stale object now and then keeps its stream,
 * while one probing for other nodes' objects is cut off within seconds.
 */
export const VIOLATION_LIMITS_DEFAULT: ViolationLimits = { violationsMax: 10, windowMs: 60_000 };

/** The monotonic times of the refusals still inside the window, oldest first; at most `violationsMax`. */
export type ViolationWindow = { readonly atMs: readonly number[] };

export const emptyViolationWindow: ViolationWindow = { atMs: [] };

export type ViolationVerdict = { readonly action: 'continue' } | { readonly action: 'close'; readonly code: 4403; readonly reason: string };

/**
 * Records one refusal at monotonic time `nowMs` and says whether to close the connection: when
 * this refusal makes `violationsMax` of them within the last `windowMs`. Pure: the host keeps the
 * window per connection and passes its monotonic clock.
 * @example
 * const next = recordViolation(window, clock.monotonicMs(), VIOLATION_LIMITS_DEFAULT);
 * window = next.window; if (next.verdict.action === 'close') socket.close(next.verdict.code, next.verdict.reason);
 */
export function recordViolation(window: ViolationWindow, nowMs: number, limits: ViolationLimits): { readonly window: ViolationWindow; readonly verdict: ViolationVerdict } {
  invariant(Number.isSafeInteger(limits.violationsMax) && limits.violationsMax >= 1, 'violationsMax is a positive integer');
  invariant(limits.windowMs > 0, 'the violation window has a length');
  const recent = window.atMs.filter((atMs) => nowMs - atMs < limits.windowMs);
  // Keep only what can still matter: the newest violationsMax entries.
  const atMs = [...recent, nowMs].slice(-limits.violationsMax);
  invariant(atMs.length <= limits.violationsMax, 'the window is bounded');
  if (atMs.length < limits.violationsMax) return { window: { atMs }, verdict: { action: 'continue' } };
  const reason = `${limits.violationsMax} authorization violations within ${Math.round(limits.windowMs / 1000)} s`;
  return { window: { atMs }, verdict: { action: 'close', code: 4403, reason } };
}

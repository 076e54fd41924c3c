// The up events an edge reports about Kubernetes objects, shared by the edge that writes them and
// the cloud that turns them into API writes. Data fields follow KubeEdge's requests (PodStatusRequest
// {UID, Name, Status}, NodeStatusRequest {UID, Status}), plus the wire resource the route names.

/** A pod's status: `{ resource: '<ns>/podstatus/<name>', UID, Name, Status }` → pods/status. */
export const POD_STATUS_REPORTED = 'PodStatusReported.v1';
/**
 * A deleted pod's containers have all stopped: `{ resource: '<ns>/pod/<name>', UID }` → the Pod
 * object is removed (the kubelet's final delete with grace 0 and a uid precondition).
 */
export const POD_TERMINATION_COMPLETED = 'PodTerminationCompleted.v1';
/** A node's status and labels: `{ Status, Labels }` → the Node is registered, then nodes/status. */
export const NODE_STATUS_REPORTED = 'NodeStatusReported.v1';

/**
 * A device twin as the edge holds it after an accepted change, whole (level-based, so a report
 * repeated after a crash or a resync changes nothing): KubeEdge's `twin/edge_updated` content,
 * `{ resource: 'device/<ns>/<name>/twin/edge_updated', UID, event_id, timestamp, twin }`, where
 * `twin` maps every property to `{ expected, actual, optional, metadata: {type}, expected_version,
 * actual_version }` (values `{ value, metadata: { timestamp } }` or null) and a deleted property to
 * null. The cloud writes it into the Device's `status.twins[]` (actual → reported, expected →
 * observedDesired).
 */
export const TWIN_REPORTED = 'TwinReported.v1';
/**
 * A device's state changed: `{ resource: 'device/<ns>/<name>/state/update', UID, event_id,
 * timestamp, device: { name, state, lastOnlineTime } }` → the Device's `status.state` and
 * `status.lastOnlineTime`.
 */
export const DEVICE_STATE_REPORTED = 'DeviceStateReported.v1';

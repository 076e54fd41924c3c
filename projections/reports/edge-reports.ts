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

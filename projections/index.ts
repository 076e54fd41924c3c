// The projections room's door: rxjs pipelines between the Kubernetes API and the edges. For now the
// cloud's EdgeController: desired sets and authorization from the API, edge reports back into it.
export { EdgeController, type EdgeControllerOptions } from './edge-controller/edge-controller.js';
export { ClusterView, type ViewedKind } from './edge-controller/cluster-view.js';
export { EDGE_ROLE_LABEL, EdgeStatusWriter, type StatusWriterLog } from './edge-controller/status-writer.js';
export { DeviceStatusWriter, type DeviceStatusWriterOptions } from './device-controller/device-status-writer.js';
export { DEVICE_STATE_REPORTED, NODE_STATUS_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED, TWIN_REPORTED } from './reports/edge-reports.js';
export { PodSupervisor, type PodSupervisorOptions, type SupervisorLog } from './edge-pods/pod-supervisor.js';
export { launchOf, quantityBytes, type HeldObjects } from './edge-pods/container-launch.js';
export { reflect, type ReflectorEvent, type ReflectorOptions } from './kube/reflector.js';
export { LocalView, type HeldEntry } from './edge-pods/local-view.js';
export { DeviceTwinHost, TWIN_DEVICES_MAX, TWIN_MAILBOX_MESSAGES_MAX, TWIN_MESSAGES_WAITING_MAX, type DeviceTwinHostOptions, type TwinSummary } from './edge-devices/twin-host.js';
export { nodeStatusReport, observedConditions, type HostFacts, type HostPressure } from './edge-pods/node-status.js';
export { NodeAgent, type NodeAgentOptions } from './edge-pods/node-agent.js';
export { NODE_LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE, NodeLeaseWriter } from './edge-controller/lease-responder.js';
export { PodScheduler, DEFAULT_SCHEDULER_NAME, type PodSchedulerOptions } from './scheduler/pod-scheduler.js';
export { placePod, type Placement } from './scheduler/placement.js';
export { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle/node-lifecycle-controller.js';
export { Informers, Informer } from './kube/informer.js';
export { ReplicaSetController, type ReplicaSetControllerOptions } from './workloads/replicaset-controller.js';
export { DeploymentController, type DeploymentControllerOptions } from './workloads/deployment-controller.js';
export { DaemonSetController, DAEMONSET_CONTROLLER_NAME, type DaemonSetControllerOptions } from './workloads/daemonset-controller.js';
export { NamespaceController, type NamespaceControllerOptions } from './workloads/namespace-controller.js';
export { GarbageCollector, type GarbageCollectorOptions } from './workloads/garbage-collector.js';
export { LeaderElector, type LeaderElectorOptions, type LeadershipEnd } from './kube/leader-election.js';
export { LeaseHolder, NodeStreamLeases, kubeLeaseStore, nodeStreamLease, CONTROLLERS_LEASE, NODE_STREAM_LEASE_NAMESPACE, type LeaseHolderOptions, type AcquireOutcome, type LeaseLoss } from './kube/lease-holder.js';
export { LEASE_TIMING_DEFAULT, validateLeaseTiming, type LeaseTiming } from './kube/lease-lock.js';
export { KeepAliveKubeConfig, API_SOCKETS_MAX } from './kube/keep-alive-kubeconfig.js';

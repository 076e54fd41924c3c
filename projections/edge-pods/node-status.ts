// The Node status an edge reports (the kubelet's node status manager): the conditions the agent
// observes, the host's addresses, capacity and system info, and the labels it registers with. Pure:
// the agent passes in what it read from the host and what its node actor holds.
import type { ConditionReport, NodeCondition } from '../../actors/index.js';
import type { JsonObject } from '../../kernel/index.js';
import type { UpEvent } from '../../transport/index.js';
import { NODE_STATUS_REPORTED } from '../reports/edge-reports.js';

/** What the agent knows of its host. */
export interface HostFacts {
  readonly hostIP: string;
  readonly hostname: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly kernelVersion: string;
  readonly osImage: string;
  readonly architecture: string;
  readonly agentVersion: string;
  /** Pods the node accepts (the kubelet's default 110). */
  readonly podsMax: number;
}

/** Kubernetes' GOARCH names for Node.status.nodeInfo.architecture. */
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** What the host shows now, for the node's pressure conditions. */
export interface HostPressure {
  readonly memoryAvailableBytes: number;
  /** Free space of the filesystem holding the data dir (the kubelet's nodefs). */
  readonly diskAvailableBytes: number;
  readonly diskTotalBytes: number;
}

/** The kubelet's default hard eviction thresholds: memory.available < 100Mi, nodefs.available < 10%. */
export const MEMORY_AVAILABLE_BYTES_MIN = 100 * 1024 * 1024;
export const DISK_AVAILABLE_FRACTION_MIN = 0.1;

/**
 * The node's conditions as the agent observes them, with KubeEdge's reasons: Ready while the agent
 * runs, memory and disk pressure by the kubelet's eviction thresholds. The node actor stamps when
 * each one last changed.
 */
export function observedConditions(pressure: HostPressure): readonly ConditionReport[] {
  const memoryLow = pressure.memoryAvailableBytes < MEMORY_AVAILABLE_BYTES_MIN;
  const diskLow = pressure.diskTotalBytes > 0 && pressure.diskAvailableBytes / pressure.diskTotalBytes < DISK_AVAILABLE_FRACTION_MIN;
  return [
    { type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status' },
    memoryLow
      ? { type: 'MemoryPressure', status: 'True', reason: 'EdgeHasInsufficientMemory', message: `edge has less than ${MEMORY_AVAILABLE_BYTES_MIN / 1024 / 1024}Mi of memory available` }
      : { type: 'MemoryPressure', status: 'False', reason: 'EdgeHasSufficientMemory', message: 'edge has sufficient memory available' },
    diskLow
      ? { type: 'DiskPressure', status: 'True', reason: 'EdgeHasDiskPressure', message: `edge has less than ${DISK_AVAILABLE_FRACTION_MIN * 100}% of its disk available` }
      : { type: 'DiskPressure', status: 'False', reason: 'EdgeHasNoDiskPressure', message: 'edge has no disk pressure' },
    { type: 'PIDPressure', status: 'False', reason: 'EdgeHasSufficientPID', message: 'edge has sufficient PID available' },
  ];
}

/** The node's capacity as Kubernetes quantities (allocatable is the same: nothing is reserved). */
export const capacityOf = (facts: HostFacts): { readonly cpu: string; readonly memory: string; readonly pods: string } => ({
  cpu: String(facts.cpus),
  memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`,
  pods: String(facts.podsMax),
});

/** What the node actor holds: its registered labels and its conditions with their transition times. */
export interface RegisteredNode {
  readonly labels: Readonly<Record<string, string>>;
  readonly conditions: readonly NodeCondition[];
}

/**
 * The Node status report: the node's labels (from the agent's flags; the cloud adds the edge role
 * label too) and conditions from the node actor, each heartbeat at `at`, and the host's addresses,
 * capacity and system info as read now.
 */
export function nodeStatusReport(facts: HostFacts, node: RegisteredNode, at: string): UpEvent {
  const capacity = capacityOf(facts);
  const Status: JsonObject = {
    conditions: node.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastHeartbeatTime: at, lastTransitionTime: c.lastTransitionTime })),
    addresses: [
      { type: 'InternalIP', address: facts.hostIP },
      { type: 'Hostname', address: facts.hostname },
    ],
    capacity,
    allocatable: capacity,
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: facts.kernelVersion,
      osImage: facts.osImage,
      containerRuntimeVersion: `process://edgehive-${facts.agentVersion}`,
      kubeletVersion: `v1.29.0-edgehive-${facts.agentVersion}`,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: GOARCH[facts.architecture] ?? facts.architecture,
    },
  };
  return { type: NODE_STATUS_REPORTED, data: { Labels: { ...node.labels }, Status } };
}

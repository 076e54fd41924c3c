// The Node status an edge reports (the kubelet's node status manager): Ready while the agent runs,
// the host's addresses, capacity and system info, and the labels it registers with. Pure: the agent
// passes in what it read from the host.
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

const condition = (type: string, status: 'True' | 'False', reason: string, message: string, at: string): JsonObject => ({
  type,
  status,
  reason,
  message,
  lastHeartbeatTime: at,
  lastTransitionTime: at,
});

/** Kubernetes' GOARCH names for Node.status.nodeInfo.architecture. */
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** The report: `labels` from the agent's flags go with it (the cloud adds the edge role label). */
export function nodeStatusReport(facts: HostFacts, labels: Readonly<Record<string, string>>, at: string): UpEvent {
  const capacity = { cpu: String(facts.cpus), memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`, pods: String(facts.podsMax) };
  const Status: JsonObject = {
    conditions: [
      condition('Ready', 'True', 'EdgeReady', 'edgehive edge agent is running', at),
      condition('MemoryPressure', 'False', 'EdgeHasSufficientMemory', 'edge has sufficient memory available', at),
      condition('DiskPressure', 'False', 'EdgeHasNoDiskPressure', 'edge has no disk pressure', at),
      condition('PIDPressure', 'False', 'EdgeHasSufficientPID', 'edge has sufficient PID available', at),
    ],
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
  return { type: NODE_STATUS_REPORTED, data: { Labels: { ...labels }, Status } };
}

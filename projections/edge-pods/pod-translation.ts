// Between a Kubernetes Pod and the edge's pod actor, both ways, as pure functions: the Pod the
// cloud sends becomes the actor's admission input, and the actor's state becomes the PodStatus
// the edge reports (KubeEdge's edged does the same with the kubelet's status manager).
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/index.js';
import { kubectlStatus, podPhase, type PodSpecInput, type PresentPodState } from '../../actors/index.js';
import { arrayAt, objectAt, stringAt, stringsAt } from '../kube/json-fields.js';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;

/** The container fields the process runtime honours; the rest of the spec stays on the Pod for the agent. */
function containerInputOf(container: unknown): PodSpecInput['containers'][number] {
  const command = stringsAt(container, 'command');
  const args = stringsAt(container, 'args');
  const workingDir = stringAt(container, 'workingDir');
  return { name: stringAt(container, 'name') ?? '', ...(command === undefined ? {} : { command }), ...(args === undefined ? {} : { args }), ...(workingDir === undefined ? {} : { workingDir }) };
}

/**
 * The pod actor's admission input from a Pod object. Problems the actor refuses (no command, bad
 * names) are left to its decider, which records them as a failed admission with a reason.
 */
export function podSpecInputOf(pod: JsonObject, nodeName: string): PodSpecInput {
  const metadata = objectAt(pod, 'metadata');
  const spec = objectAt(pod, 'spec');
  const policy = stringAt(spec, 'restartPolicy');
  const grace = isJsonObject(spec) ? spec['terminationGracePeriodSeconds'] : undefined;
  return {
    namespace: stringAt(metadata, 'namespace') ?? 'default',
    name: stringAt(metadata, 'name') ?? '',
    uid: stringAt(metadata, 'uid') ?? '',
    nodeName,
    ...(RESTART_POLICIES.includes(policy as never) ? { restartPolicy: policy as (typeof RESTART_POLICIES)[number] } : {}),
    ...(typeof grace === 'number' && Number.isInteger(grace) && grace >= 0 ? { terminationGracePeriodSeconds: grace } : {}),
    initContainers: arrayAt(spec, 'initContainers').map(containerInputOf),
    containers: arrayAt(spec, 'containers').map(containerInputOf),
  };
}

type ContainerStatus = PresentPodState['containers'][number];

/** The kubelet's words for a container waiting out its restart delay (its `backOffMs`, doubling per failure). */
const backOffMessage = (container: ContainerStatus): string => `back-off ${Math.round(container.backOffMs / 1000)}s restarting failed container=${container.name}`;

function containerStateJson(state: ContainerStatus['state'] | NonNullable<ContainerStatus['lastState']>, container?: ContainerStatus): JsonObject {
  switch (state.state) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.reason === 'CrashLoopBackOff' && container !== undefined ? { message: backOffMessage(container) } : {}) } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated':
      return {
        terminated: {
          exitCode: state.exitCode,
          ...(state.reason === '' ? {} : { reason: state.reason }),
          ...(state.message === '' ? {} : { message: state.message }),
          ...(state.startedAt === null ? {} : { startedAt: state.startedAt }),
          finishedAt: state.finishedAt,
        },
      };
  }
}

function containerStatusJson(container: ContainerStatus, image: string, probedReady: boolean | undefined): JsonObject {
  const running = container.state.state === 'running';
  return {
    name: container.name,
    state: containerStateJson(container.state, container),
    lastState: container.lastState === null ? {} : containerStateJson(container.lastState),
    // Without a readiness probe a running container is ready, as the kubelet has it.
    ready: running && (probedReady ?? true),
    started: running,
    restartCount: container.restartCount,
    image,
    imageID: '',
  };
}

const condition = (type: string, status: boolean, at: string, reason?: string): JsonObject => ({
  type,
  status: status ? 'True' : 'False',
  lastProbeTime: null,
  lastTransitionTime: at,
  ...(reason === undefined ? {} : { reason }),
});

/**
 * The PodStatus the edge reports for a pod actor's state. Host network: podIP is the host's IP
 * (DESIGN.md, Workloads). `images` gives each container's `image` as the Pod names it.
 */
export function kubePodStatusOf(
  state: PresentPodState,
  hostIP: string,
  images: ReadonlyMap<string, string> = new Map(),
  /** A container's readiness probe outcome; undefined when it has none. */
  probedReady: (container: string) => boolean | undefined = () => undefined,
): JsonObject {
  const phase = podPhase(state);
  const at = state.startTime ?? state.admittedAt;
  const initialized = state.initContainers.every((c) => c.state.state === 'terminated' && c.state.exitCode === 0);
  const ready = state.containers.length > 0 && state.containers.every((c) => c.state.state === 'running' && (probedReady(c.name) ?? true));
  const status: Record<string, JsonValue> = {
    phase,
    conditions: [condition('PodScheduled', true, state.admittedAt), condition('Initialized', initialized, at), condition('ContainersReady', ready, at), condition('Ready', ready, at)],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: hostIP,
    podIPs: [{ ip: hostIP }],
    initContainerStatuses: state.initContainers.map((c) => containerStatusJson(c, images.get(c.name) ?? '', undefined)),
    containerStatuses: state.containers.map((c) => containerStatusJson(c, images.get(c.name) ?? '', probedReady(c.name))),
  };
  if (state.startTime !== null) status['startTime'] = state.startTime;
  if (state.failure !== null) {
    status['reason'] = state.failure.reason;
    status['message'] = state.failure.message;
  }
  return status;
}

/** kubectl's STATUS column for the state, for progress lines (the API computes its own from the status). */
export const kubectlStatusOf = (state: PresentPodState): string => kubectlStatus(state).status;

/** The images of a Pod's containers by name, for containerStatuses[].image. */
export function imagesOf(pod: JsonObject): ReadonlyMap<string, string> {
  const spec = objectAt(pod, 'spec');
  const images = new Map<string, string>();
  for (const c of [...arrayAt(spec, 'initContainers'), ...arrayAt(spec, 'containers')]) {
    const name = stringAt(c, 'name');
    if (name !== undefined) images.set(name, stringAt(c, 'image') ?? '');
  }
  return images;
}

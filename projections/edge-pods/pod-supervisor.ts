// The edge's pod supervisor (KubeEdge's edged pod workers): one journaled pod actor per pod the
// cloud binds to this node, its effects carried out by the container runtime, its state reported
// up as the Pod's status. Level-based like the stream's down direction: `reconcile` takes the whole
// set of desired Pods and converges on it, whether it comes from the cloud or from the journal
// after a restart while the cloud is away (edge autonomy).
import type { JsonObject } from '../../kernel/index.js';
import { isJsonObject, type Clock, type Ids } from '../../kernel/index.js';
import { podKind, podStream, type ActorHost, type JournaledActor, type PodCommand, type PodRejection, type PresentPodState } from '../../actors/index.js';
import { ProbeRunner, systemProbeTimer, type ContainerExit, type ContainerRuntime, type ObservedProcess, type ProbeResult, type RunRef, type VolumeMount } from '../../runtime/index.js';
import { containerProbesOf, type ContainerProbe } from './container-probes.js';
import type { UpEvent } from '../../transport/index.js';
import { launchOf, type HeldObjects } from './container-launch.js';
import { arrayAt, objectAt, stringAt } from '../kube/json-fields.js';
import { imagesOf, kubePodStatusOf, podSpecInputOf } from './pod-translation.js';
import { POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED } from '../reports/edge-reports.js';


export interface SupervisorLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface PodSupervisorOptions {
  readonly nodeName: string;
  /** The node's IP: pods use the host network, so it is every pod's IP too. */
  readonly hostIP: string;
  /** Journals pod actors in the edge journal. */
  readonly host: ActorHost;
  readonly runtime: ContainerRuntime;
  /** The ConfigMaps and Secrets the edge holds, for env and volumes. */
  readonly held: HeldObjects;
  /** Sends up events (EdgeHub.report); they are journaled in its outbox and survive a cloud outage. */
  readonly report: (events: readonly UpEvent[]) => Promise<unknown>;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log?: SupervisorLog;
}

type PodActor = JournaledActor<typeof podKind.machine, never, PodCommand, PodRejection, ReturnType<typeof podKind.stateOf>>;

/** The probes of one running container. */
interface Probing {
  readonly runId: string;
  readonly runners: ProbeRunner[];
  /** The readiness probe's outcome; undefined without one. */
  ready: boolean | undefined;
}

interface Supervised {
  pod: JsonObject;
  readonly actor: PodActor;
  readonly timers: Set<NodeJS.Timeout>;
  /** Probes by container name, for its current run. */
  readonly probes: Map<string, Probing>;
  /** The node asked for termination (deleted in the API, or no longer desired). */
  terminating: boolean;
  /** The grace period last asked for, when the Pod's deletion named one: a shorter one later is asked again. */
  graceAsked: number | undefined;
  /** The termination-completed report went up (once). */
  completed: boolean;
}

/** What the supervisor reads of a desired Pod's metadata (missing fields as defaults: a held object is desired content). */
export const podMetaOf = (pod: JsonObject): { namespace: string; name: string; uid: string; deletionGracePeriodSeconds: number | undefined; deleting: boolean } => {
  const metadata = isJsonObject(pod['metadata']) ? pod['metadata'] : {};
  const grace = metadata['deletionGracePeriodSeconds'];
  return {
    namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default',
    name: typeof metadata['name'] === 'string' ? metadata['name'] : '',
    uid: typeof metadata['uid'] === 'string' ? metadata['uid'] : '',
    deletionGracePeriodSeconds: typeof grace === 'number' ? grace : undefined,
    deleting: typeof metadata['deletionTimestamp'] === 'string',
  };
};

/**
 * Journaled as the causationId of pod commands a desired Pod caused, so `edgehive replay` can name it:
 * `pod:<uid>@<resourceVersion>`, or `pod:<uid>` for desired content, which arrives without one.
 */
const podCause = (pod: JsonObject): { readonly causationId: string } => {
  const metadata = isJsonObject(pod['metadata']) ? pod['metadata'] : {};
  const resourceVersion = metadata['resourceVersion'];
  return { causationId: `pod:${podMetaOf(pod).uid}${typeof resourceVersion === 'string' ? `@${resourceVersion}` : ''}` };
};

const silent: SupervisorLog = { info: () => undefined, warn: () => undefined };

/**
 * Supervises the node's pods.
 * @example
 * const supervisor = new PodSupervisor({ nodeName, hostIP, host, runtime, held, report: (e) => hub.report(e), clock, ids });
 * await supervisor.start(desiredPods);      // rehydrates, observes the runtime, kills orphans
 * hub.on('desired', () => supervisor.reconcile(desiredPods()));
 */
export class PodSupervisor {
  readonly #pods = new Map<string, Supervised>();
  /**
   * Pods whose termination this life reported while the cloud still holds them (deleting, until
   * its delete lands): not adopted again, so the completion goes up once. Pruned by every
   * reconcile to the pods still desired.
   */
  readonly #finished = new Set<string>();
  readonly #log: SupervisorLog;
  readonly #statusDue = new Set<string>();
  #reportScheduled = false;
  #observed: readonly ObservedProcess[] = [];
  #reconciling: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #exits: { unsubscribe(): void };

  constructor(private readonly options: PodSupervisorOptions) {
    this.#log = options.log ?? silent;
    this.#exits = options.runtime.exits.subscribe((exit) => void this.#exited(exit));
  }

  /** After an agent (re)start: scans the runtime, converges on `desired`, and kills what no pod owns. */
  async start(desired: readonly JsonObject[]): Promise<void> {
    this.#observed = await this.options.runtime.scan();
    await this.reconcile(desired);
    const kept = new Set(this.#pods.keys());
    const killed = await this.options.runtime.killOrphans((run) => kept.has(run.podUid));
    if (killed.length > 0) this.#log.info({ killed: killed.map((k) => `${k.podUid}/${k.container}`) }, 'killed processes of pods no longer on this node');
    this.#observed = [];
  }

  /** Converges on this set of desired Pods (level-based); calls are serialized. */
  reconcile(desired: readonly JsonObject[]): Promise<void> {
    this.#reconciling = this.#reconciling.then(() => this.#reconcile(desired)).catch((error: unknown) => this.#log.warn({ error: (error as Error).message }, 'pod reconcile failed'));
    return this.#reconciling;
  }

  /** Reports every pod's current status again (after a full resync the cloud may lack them). */
  reportAll(): void {
    for (const uid of this.#pods.keys()) this.#statusChanged(uid);
  }

  /** The supervised pods' current states, for `edgehive status` and tests. */
  states(): ReadonlyMap<string, ReturnType<typeof podKind.stateOf>> {
    return new Map([...this.#pods].map(([uid, p]) => [uid, p.actor.state]));
  }

  /** Stops supervising; containers keep running (the next agent adopts them). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#exits.unsubscribe();
    await this.#reconciling;
    for (const p of this.#pods.values()) {
      for (const timer of p.timers) clearTimeout(timer);
      for (const container of [...p.probes.keys()]) this.#stopProbes(p, container);
      p.actor.stop();
    }
    this.#pods.clear();
  }

  async #reconcile(desired: readonly JsonObject[]): Promise<void> {
    if (this.#stopped) return;
    const wanted = new Map(desired.map((pod) => [podMetaOf(pod).uid, pod] as const).filter(([uid]) => uid !== ''));
    for (const uid of [...this.#finished]) if (!wanted.has(uid)) this.#finished.delete(uid);
    for (const [uid, pod] of wanted) {
      if (this.#finished.has(uid) && podMetaOf(pod).deleting) continue;
      this.#finished.delete(uid);
      const known = this.#pods.get(uid);
      if (known === undefined) await this.#adopt(uid, pod);
      else {
        known.pod = pod;
        await this.#refreshVolumes(uid, pod);
      }
      if (podMetaOf(pod).deleting) await this.#terminate(uid, podMetaOf(pod).deletionGracePeriodSeconds);
    }
    for (const uid of [...this.#pods.keys()]) if (!wanted.has(uid)) await this.#terminate(uid, undefined);
  }

  /**
   * Writes a running pod's ConfigMap and Secret volumes from the objects held now, as the kubelet
   * syncs mounted ConfigMaps: a changed key reaches the running containers without a restart. A
   * volume whose source cannot be resolved now (a missing key) is left as it is.
   */
  async #refreshVolumes(uid: string, pod: JsonObject): Promise<void> {
    const spec = objectAt(pod, 'spec');
    const names = [...arrayAt(spec, 'initContainers'), ...arrayAt(spec, 'containers')].flatMap((c) => stringAt(c, 'name') ?? []);
    const volumes = new Map<string, VolumeMount>();
    for (const name of names) {
      const launch = launchOf(pod, name, 'volume-refresh', this.options.held, this.options.hostIP);
      if (launch.ok) for (const volume of launch.value.volumes) if (volume.source.kind !== 'emptyDir') volumes.set(volume.name, volume);
    }
    if (volumes.size === 0) return;
    const refreshed = await this.options.runtime.refreshVolumes(uid, [...volumes.values()]);
    if (!refreshed.ok) this.#log.warn({ pod: uid, error: refreshed.error.message }, 'volumes not refreshed');
  }

  /** Starts (or rehydrates) the actor of a desired pod and admits and starts it when it is new. */
  async #adopt(uid: string, pod: JsonObject): Promise<void> {
    const { namespace, name } = podMetaOf(pod);
    const at = this.#now();
    const alive = this.#observed.filter((o) => o.podUid === uid && o.alive).map((o) => ({ container: o.container, runId: o.runId }));
    const started = await this.options.host.start(podKind, podStream(namespace, name, uid), this.#effects(uid));
    if (!started.ok) {
      this.#log.warn({ pod: `${namespace}/${name}`, error: started.error.kind }, 'pod actor could not be rebuilt');
      return;
    }
    const supervised: Supervised = { pod, actor: started.value as unknown as PodActor, timers: new Set(), probes: new Map(), terminating: false, graceAsked: undefined, completed: false };
    if (supervised.actor.state.status === 'absent' && podMetaOf(pod).deleting) {
      // Deleted before it ever ran here: as the kubelet, start nothing and confirm the end at once.
      supervised.actor.stop();
      this.#finished.add(uid);
      await this.options.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: `${namespace}/pod/${name}`, UID: uid } }]);
      return;
    }
    // Supervised before the scan's observation runs: the effects it decides (a restart timer armed
    // again, a start asked again, a stop sent again) look the pod up here, and would be dropped.
    this.#pods.set(uid, supervised);
    if (supervised.actor.state.status === 'absent') {
      await this.#execute(uid, { type: 'AdmitPod', data: { spec: podSpecInputOf(pod, this.options.nodeName), at } }, podCause(pod));
      await this.#execute(uid, { type: 'StartPod', data: { at: this.#now() } }, podCause(pod));
    } else {
      await this.#execute(uid, { type: 'ObserveRuntime', data: { alive, at } });
      // Adopted containers are probed as if just started.
      const state = this.#pods.get(uid)?.actor.state;
      if (state !== undefined && state.status !== 'absent') for (const c of state.containers) if (c.state.state === 'running') this.#startProbes(supervised, uid, c.name, c.state.runId);
    }
    this.#statusChanged(uid);
  }

  async #terminate(uid: string, gracePeriodSeconds: number | undefined): Promise<void> {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined) return;
    // Asked again only for a shorter grace period (a second `kubectl delete --grace-period`): the decider shortens the deadline.
    const shorter = gracePeriodSeconds !== undefined && supervised.graceAsked !== undefined && gracePeriodSeconds < supervised.graceAsked;
    if (!supervised.terminating || shorter) {
      supervised.terminating = true;
      supervised.graceAsked = gracePeriodSeconds ?? supervised.graceAsked;
      // A deleted Pod causes its termination; a Pod no longer desired has no object to name.
      const cause = podMetaOf(supervised.pod).deleting ? podCause(supervised.pod) : {};
      await this.#execute(uid, { type: 'RequestTermination', data: { ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }), at: this.#now() } }, cause);
    }
    await this.#finishIfDone(uid);
  }

  /** A terminated pod with no process left: tell the cloud (once), forget it, free its files. */
  async #finishIfDone(uid: string): Promise<void> {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined || !supervised.terminating) return;
    const state = supervised.actor.state;
    const running = state.status === 'absent' ? false : [...state.initContainers, ...state.containers].some((c) => c.state.state === 'running' || (c.state.state === 'waiting' && c.state.reason === 'ContainerCreating'));
    if (running) return;
    if (!supervised.completed) {
      supervised.completed = true;
      const { namespace, name } = podMetaOf(supervised.pod);
      await this.options.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: `${namespace}/pod/${name}`, UID: uid } }]);
    }
    for (const timer of supervised.timers) clearTimeout(timer);
    for (const container of [...supervised.probes.keys()]) this.#stopProbes(supervised, container);
    supervised.actor.stop();
    this.#pods.delete(uid);
    this.#finished.add(uid);
    const removed = await this.options.runtime.removePod(uid);
    if (!removed.ok) this.#log.warn({ pod: uid, error: removed.error.message }, 'pod files not removed');
  }

  /** The pod machine's effects, carried out by the runtime; each result comes back as a command. */
  #effects(uid: string) {
    return {
      actions: {
        startContainers: (_: unknown, params: { containers: readonly { name: string }[] }) => {
          for (const container of params.containers) void this.#startContainer(uid, container.name);
        },
        stopContainers: (_: unknown, params: { runIds: readonly string[]; gracePeriodSeconds: number }) => {
          for (const run of this.#runsOf(uid, params.runIds)) void this.options.runtime.stop(run, params.gracePeriodSeconds);
        },
        scheduleRestart: (_: unknown, params: { container: string; delayMs: number }) => this.#restartAfter(uid, params.container, params.delayMs),
        killProcesses: (_: unknown, params: { runIds: readonly string[] }) => {
          const doomed = new Set(params.runIds);
          void this.options.runtime.killOrphans((run) => !(run.podUid === uid && doomed.has(run.runId)));
        },
      },
    } as never;
  }

  /**
   * The back-off timer of one container. A wall clock set back while it ran makes the restart come
   * before `restartAt` (refused as BackOffNotElapsed): it is armed again for what is left, or the
   * container would wait forever.
   */
  #restartAfter(uid: string, container: string, delayMs: number): void {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined) return;
    const timer = setTimeout(() => {
      supervised.timers.delete(timer);
      void this.#restart(uid, container);
    }, delayMs);
    supervised.timers.add(timer);
  }

  async #restart(uid: string, container: string): Promise<void> {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined) return;
    const executed = await supervised.actor.execute({ type: 'RestartContainer', data: { container, at: this.#now() } });
    if (executed.ok) return this.#statusChanged(uid);
    const error = executed.error;
    if (error.kind === 'Rejected' && error.rejection.kind === 'BackOffNotElapsed') {
      return this.#restartAfter(uid, container, Math.max(0, Date.parse(error.rejection.restartAt) - this.options.clock.nowMs()));
    }
    this.#log.info({ pod: uid, command: 'RestartContainer', refused: error }, 'pod command not applied');
  }

  async #startContainer(uid: string, container: string): Promise<void> {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined) return;
    const runId = this.options.ids.next();
    const launch = launchOf(supervised.pod, container, runId, this.options.held, this.options.hostIP);
    const started = launch.ok ? await this.options.runtime.start(launch.value) : launch;
    if (started.ok) {
      await this.#execute(uid, { type: 'ReportContainerStarted', data: { container, runId, at: started.value.startedAt } });
      const current = this.#pods.get(uid);
      if (current !== undefined) this.#startProbes(current, uid, container, runId);
      return;
    }
    // The kubelet shows these as the container's waiting reason; here the attempt ends like a failed start.
    this.#log.warn({ pod: uid, container, reason: started.error.reason, message: started.error.message }, 'container not started');
    await this.#execute(uid, { type: 'ReportContainerExited', data: { container, runId: null, exitCode: 128, reason: started.error.reason, message: started.error.message, at: this.#now() } });
  }

  /**
   * The kubelet's probes for one run: a startup probe first (until it succeeds, nothing else runs;
   * failing it kills the run), then liveness (failing it kills the run, which restarts per policy)
   * and readiness (its outcome is the container's `ready`).
   */
  #startProbes(supervised: Supervised, uid: string, container: string, runId: string): void {
    this.#stopProbes(supervised, container);
    const probes = containerProbesOf(supervised.pod, container);
    if (probes.startup === undefined && probes.liveness === undefined && probes.readiness === undefined) return;
    const probing: Probing = { runId, runners: [], ready: probes.readiness === undefined ? undefined : false };
    supervised.probes.set(container, probing);
    const run: RunRef = { podUid: uid, container, runId };
    const attempt = (probe: ContainerProbe) => () => this.options.runtime.probe(uid, container, probe.action, probe.schedule.timeoutSeconds);
    const kill = (why: string, message: string): void => {
      this.#log.info({ pod: uid, container, probe: why, message }, `${why} probe failed; killing the container`);
      void this.options.runtime.stop(run, this.#gracePeriodOf(supervised));
    };
    const startRunner = (probe: ContainerProbe, initial: 'Success' | 'Failure', onChange: (result: ProbeResult) => void): ProbeRunner => {
      const runner = new ProbeRunner({ schedule: probe.schedule, attempt: attempt(probe), timer: systemProbeTimer, initial, onChange });
      probing.runners.push(runner);
      runner.start();
      return runner;
    };
    const afterStartup = (): void => {
      if (probes.liveness !== undefined) startRunner(probes.liveness, 'Success', (r) => r.result === 'Failure' && kill('liveness', r.message));
      if (probes.readiness !== undefined) {
        startRunner(probes.readiness, 'Failure', (r) => {
          probing.ready = r.result === 'Success';
          this.#statusChanged(uid);
        });
      }
    };
    if (probes.startup === undefined) return afterStartup();
    // Counted from Success, a startup probe flips only when it has failed failureThreshold times;
    // its first success ends it instead.
    const startup = probes.startup;
    let startedUp = false;
    const runner = new ProbeRunner({
      schedule: startup.schedule,
      attempt: async () => {
        const result = await attempt(startup)();
        if (result.result === 'Success' && !startedUp) {
          startedUp = true;
          queueMicrotask(() => {
            runner.stop();
            afterStartup();
          });
        }
        return result;
      },
      timer: systemProbeTimer,
      initial: 'Success',
      onChange: (r) => r.result === 'Failure' && !startedUp && kill('startup', r.message),
    });
    probing.runners.push(runner);
    runner.start();
  }

  #stopProbes(supervised: Supervised, container: string): void {
    const probing = supervised.probes.get(container);
    if (probing === undefined) return;
    for (const runner of probing.runners) runner.stop();
    supervised.probes.delete(container);
  }

  #gracePeriodOf(supervised: Supervised): number {
    const spec = isJsonObject(supervised.pod['spec']) ? supervised.pod['spec'] : {};
    const grace = spec['terminationGracePeriodSeconds'];
    return typeof grace === 'number' && Number.isInteger(grace) && grace >= 0 ? grace : 30;
  }

  #runsOf(uid: string, runIds: readonly string[]): RunRef[] {
    const state = this.#pods.get(uid)?.actor.state;
    if (state === undefined || state.status === 'absent') return [];
    const wanted = new Set(runIds);
    return [...state.initContainers, ...state.containers].flatMap((c) => (c.state.state === 'running' && wanted.has(c.state.runId) ? [{ podUid: uid, container: c.name, runId: c.state.runId }] : []));
  }

  async #exited(exit: ContainerExit): Promise<void> {
    const supervised = this.#pods.get(exit.podUid);
    if (supervised === undefined) return;
    if (supervised.probes.get(exit.container)?.runId === exit.runId) this.#stopProbes(supervised, exit.container);
    await this.#execute(exit.podUid, { type: 'ReportContainerExited', data: { container: exit.container, runId: exit.runId, exitCode: exit.exitCode, reason: exit.reason, message: exit.message, at: exit.at } });
    await this.#finishIfDone(exit.podUid);
  }

  async #execute(uid: string, command: PodCommand, cause: { readonly causationId?: string } = {}): Promise<void> {
    const supervised = this.#pods.get(uid);
    if (supervised === undefined) return;
    const executed = await supervised.actor.execute(command, cause);
    if (!executed.ok) {
      this.#log.info({ pod: uid, command: command.type, refused: executed.error }, 'pod command not applied');
      return;
    }
    this.#statusChanged(uid);
  }

  /** Status reports go up coalesced: one per pod per turn of the event loop, the latest state. */
  #statusChanged(uid: string): void {
    this.#statusDue.add(uid);
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    setImmediate(() => {
      this.#reportScheduled = false;
      const events = [...this.#statusDue].flatMap((due) => this.#statusReport(due));
      this.#statusDue.clear();
      if (events.length > 0) void this.options.report(events).catch((error: unknown) => this.#log.warn({ error: (error as Error).message }, 'pod status not reported'));
    });
  }

  #statusReport(uid: string): UpEvent[] {
    const supervised = this.#pods.get(uid);
    // Once its termination is reported the cloud removes the Pod: a later status would be about nothing.
    if (supervised === undefined || supervised.completed || supervised.actor.state.status === 'absent') return [];
    const state = supervised.actor.state as PresentPodState;
    const { namespace, name } = podMetaOf(supervised.pod);
    const status = kubePodStatusOf(state, this.options.hostIP, imagesOf(supervised.pod), (container) => supervised.probes.get(container)?.ready);
    return [{ type: POD_STATUS_REPORTED, data: { resource: `${namespace}/podstatus/${name}`, UID: uid, Name: name, Status: status } }];
  }

  #now(): string {
    return new Date(this.options.clock.nowMs()).toISOString();
  }
}

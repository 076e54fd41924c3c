// The edge's node actor at work (the kubelet's node registration and status manager): it registers
// the node in the edge journal, records each condition change with its transition time, the cloud
// link going and coming back and a decommission, and reports the Node's status from that state. The
// journal is the source of truth: after a restart the actor rebuilds, so a decommissioned node stays
// decommissioned (its pods stay stopped) until the cloud accepts it again.
import { nodeKind, nodeStream, type ActorHost, type ConditionReport, type JournaledActor, type NodeCommand, type NodeRejection, type NodeState } from '../../actors/index.js';
import { err, ok, type Clock, type Result } from '../../kernel/index.js';
import type { UpEvent } from '../../transport/index.js';
import { capacityOf, nodeStatusReport, type HostFacts } from './node-status.js';

export interface NodeAgentOptions {
  readonly nodeName: string;
  /** Journals the node actor in the edge journal. */
  readonly host: ActorHost;
  /** Read at each report: capacity and addresses are observations, not registration facts. */
  readonly facts: () => HostFacts;
  /** Labels from the agent's flags, registered with the node. */
  readonly labels: Readonly<Record<string, string>>;
  /** Sends up events (EdgeHub.report). */
  readonly report: (events: readonly UpEvent[]) => Promise<unknown>;
  readonly clock: Clock;
  readonly log?: { warn(fields: object, message: string): void };
}

type NodeActor = JournaledActor<typeof nodeKind.machine, never, NodeCommand, NodeRejection, NodeState>;
type Live = Extract<NodeState, { readonly conditions: unknown }>;

const isLive = (state: NodeState): state is Live => state.status !== 'absent' && state.status !== 'decommissioned';

/**
 * ```ts
 * const agent = await NodeAgent.start({ nodeName, host, facts: hostFacts, labels, report: (e) => hub.report(e), clock });
 * if (agent.ok && !agent.value.decommissioned) await supervisor.start(view.pods());
 * hub.on('linked', () => void agent.value.linked(observedConditions(pressureNow())));
 * ```
 */
export class NodeAgent {
  readonly #options: NodeAgentOptions;
  readonly #actor: NodeActor;
  #linked = false;

  private constructor(options: NodeAgentOptions, actor: NodeActor) {
    this.#options = options;
    this.#actor = actor;
  }

  /** Rebuilds the node actor from the journal and registers the node unless it is registered or was deleted. */
  static async start(options: NodeAgentOptions): Promise<Result<NodeAgent, string>> {
    // The effects are bound before the agent exists; folding the journal runs none of them.
    let reportStatus = (): void => undefined;
    const started = await options.host.start(nodeKind, nodeStream(options.nodeName), {
      // The machine's status posts go up as reports; the lease and session effects are the cloud's.
      actions: {
        reportNodeStatus: () => reportStatus(),
        scheduleLeaseExpiry: () => undefined,
        cancelLeaseExpiry: () => undefined,
        closeNodeSession: () => undefined,
      },
    });
    if (!started.ok) return err(`the node actor could not be rebuilt: ${started.error.kind}`);
    const agent = new NodeAgent(options, started.value as unknown as NodeActor);
    reportStatus = () => void agent.#reportStatus();
    // A deleted node registers again only once the cloud accepts its link (see linked()).
    if (agent.#actor.state.status === 'absent') {
      const registered = await agent.#register();
      if (!registered.ok) return registered;
    }
    return ok(agent);
  }

  /** The Node was deleted in the cluster (close 4410) and not accepted back since. */
  get decommissioned(): boolean {
    return this.#actor.state.status === 'decommissioned';
  }

  get state(): NodeState {
    return this.#actor.state;
  }

  /**
   * The cloud accepted the link: the node is registered (again, after a deletion), confirmed and
   * online, with the conditions observed now; then its status goes up, once.
   */
  async linked(conditions: readonly ConditionReport[]): Promise<void> {
    if (this.decommissioned) await this.#register();
    await this.#run({ type: 'ConfirmRegistration', data: { at: this.#now() } });
    await this.#run({ type: 'MarkOnline', data: { at: this.#now() } });
    this.#linked = true;
    await this.observe(conditions);
  }

  /** The link dropped (not a deletion): recorded, so the timeline shows when the cloud could not hear the node. */
  async unlinked(): Promise<void> {
    this.#linked = false;
    await this.#run({ type: 'MarkOffline', data: { at: this.#now() } });
  }

  /** The Node was deleted in the cluster: the stream closed with 4410. */
  async deleted(): Promise<void> {
    this.#linked = false;
    await this.#run({ type: 'DecommissionNode', data: { at: this.#now() } });
  }

  /** Records the conditions observed now (changes only are journaled), then sends the status as a heartbeat. */
  async observe(conditions: readonly ConditionReport[]): Promise<void> {
    if (isLive(this.#actor.state)) await this.#run({ type: 'ReportConditions', data: { conditions, at: this.#now() } });
    await this.#reportStatus();
  }

  /** The status report of the node as its actor holds it; undefined while it is not registered. */
  statusReport(): UpEvent | undefined {
    const state = this.#actor.state;
    if (!isLive(state)) return undefined;
    return nodeStatusReport(this.#options.facts(), { labels: state.node.labels, conditions: state.conditions }, this.#now());
  }

  async #reportStatus(): Promise<void> {
    const report = this.statusReport();
    if (report === undefined || !this.#linked) return;
    await this.#options.report([report]);
  }

  async #register(): Promise<Result<void, string>> {
    const facts = this.#options.facts();
    const capacity = capacityOf(facts);
    const command: NodeCommand = {
      type: 'RegisterNode',
      data: {
        name: this.#options.nodeName,
        capacity,
        allocatable: capacity,
        labels: this.#options.labels,
        addresses: [
          { type: 'InternalIP', address: facts.hostIP },
          { type: 'Hostname', address: facts.hostname },
        ],
        at: this.#now(),
      },
    };
    const executed = await this.#actor.execute(command);
    if (executed.ok) return ok(undefined);
    const why = executed.error.kind === 'Rejected' ? JSON.stringify(executed.error.rejection) : executed.error.kind;
    return err(`node ${this.#options.nodeName} could not be registered: ${why}`);
  }

  async #run(command: NodeCommand): Promise<void> {
    const executed = await this.#actor.execute(command);
    if (!executed.ok) this.#options.log?.warn({ node: this.#options.nodeName, command: command.type, error: executed.error }, 'node actor refused a command');
  }

  #now(): string {
    return new Date(this.#options.clock.nowMs()).toISOString();
  }
}

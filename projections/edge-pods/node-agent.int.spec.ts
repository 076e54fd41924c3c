// The node agent with a real SQLite journal. Method: given a journal (fresh, or left by an earlier
// agent as after kill -9), when the link comes and goes, conditions are observed or the Node is
// deleted, then the journaled node events and the status reports sent up say the same thing, and a
// new agent on the same file picks up where the last one stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost, type ConditionReport } from '../../actors/index.js';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { ManualClock, SequentialIds, isJsonObject, type JsonValue } from '../../kernel/index.js';
import type { UpEvent } from '../../transport/index.js';
import { NODE_STATUS_REPORTED } from '../reports/edge-reports.js';
import { NodeAgent } from './node-agent.js';
import { observedConditions, type HostFacts } from './node-status.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const START_MS = Date.parse('2026-11-27T08:00:00.000Z');
const facts: HostFacts = { hostIP: '127.0.0.1', hostname: 'box', cpus: 2, memoryBytes: 8 * 1024 ** 3, kernelVersion: '6.1', osImage: 'test', architecture: 'x64', agentVersion: '0.1.0', podsMax: 110 };
const healthy = observedConditions({ memoryAvailableBytes: 4 * 1024 ** 3, diskAvailableBytes: 50, diskTotalBytes: 100 });
const memoryLow = observedConditions({ memoryAvailableBytes: 10 * 1024 * 1024, diskAvailableBytes: 50, diskTotalBytes: 100 });

interface Edge {
  readonly store: SqliteEventStore;
  readonly clock: ManualClock;
  readonly reports: UpEvent[];
  agent(): Promise<NodeAgent>;
  journaled(): Promise<string[]>;
}

/** An edge journal in a temp dir; `agent()` starts a node agent on it (again: as a restarted agent). */
function edgeJournal(): Edge {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-node-agent-'));
  const opened = openSqliteJournal(join(dir, 'journal.db'));
  if (!opened.ok) throw new Error(JSON.stringify(opened.error));
  const store = opened.value;
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = new ManualClock(START_MS);
  const reports: UpEvent[] = [];
  return {
    store,
    clock,
    reports,
    agent: async () => {
      const host = new ActorHost({ store, clock, ids: new SequentialIds('id'), origin: 'edge-1' });
      const started = await NodeAgent.start({ nodeName: 'edge-1', host, facts: () => facts, labels: { site: 'plant-3' }, report: async (events) => void reports.push(...events), clock });
      if (!started.ok) throw new Error(started.error);
      return started.value;
    },
    journaled: async () => {
      const types: string[] = [];
      for await (const event of store.readStream('node-edge-1')) types.push(event.type);
      return types;
    },
  };
}

const conditionsOf = (report: UpEvent | undefined): Record<string, { status: string; lastTransitionTime: string; lastHeartbeatTime: string }> => {
  const status = isJsonObject(report?.data) ? (report.data['Status'] as JsonValue) : undefined;
  const list = isJsonObject(status) && Array.isArray(status['conditions']) ? status['conditions'] : [];
  return Object.fromEntries(list.flatMap((c) => (isJsonObject(c) ? [[String(c['type']), c as never]] : [])));
};
const at = (ms: number): string => new Date(START_MS + ms).toISOString();

describe('given a fresh edge journal', () => {
  it('registers the node with its labels and the edge role, and reports nothing before the cloud links', async () => {
    const edge = edgeJournal();
    const agent = await edge.agent();
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1']);
    expect(agent.state).toMatchObject({ status: 'registering', node: { name: 'edge-1', labels: { site: 'plant-3', 'node-role.kubernetes.io/edge': '' } } });
    await agent.observe(healthy);
    expect(edge.reports).toEqual([]);
  });

  it('when linked, confirms the registration and reports conditions whose transition time stays put across heartbeats', async () => {
    const edge = edgeJournal();
    const agent = await edge.agent();
    edge.clock.advance(1000);
    await agent.linked(healthy);
    edge.clock.advance(60_000);
    await agent.observe(healthy);
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1', 'NodeRegistrationConfirmed.v1']);
    const [first, second] = edge.reports;
    expect(edge.reports.map((r) => r.type)).toEqual([NODE_STATUS_REPORTED, NODE_STATUS_REPORTED]);
    expect(conditionsOf(first)['Ready']).toMatchObject({ status: 'True', lastTransitionTime: at(0), lastHeartbeatTime: at(1000) });
    expect(conditionsOf(second)['Ready']).toMatchObject({ status: 'True', lastTransitionTime: at(0), lastHeartbeatTime: at(61_000) });
    expect(isJsonObject(second?.data) && second.data['Labels']).toEqual({ site: 'plant-3', 'node-role.kubernetes.io/edge': '' });
  });

  it('journals a condition change once, with the time it changed, and reports it', async () => {
    const edge = edgeJournal();
    const agent = await edge.agent();
    await agent.linked(healthy);
    edge.clock.advance(5000);
    await agent.observe(memoryLow);
    await agent.observe(memoryLow);
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1', 'NodeRegistrationConfirmed.v1', 'NodeConditionsChanged.v1']);
    const last = conditionsOf(edge.reports.at(-1));
    expect(last['MemoryPressure']).toMatchObject({ status: 'True', lastTransitionTime: at(5000) });
    expect(last['Ready']).toMatchObject({ status: 'True', lastTransitionTime: at(0) });
  });
});

describe('given a linked node', () => {
  it('records the link dropping and coming back, and sends nothing while unlinked', async () => {
    const edge = edgeJournal();
    const agent = await edge.agent();
    await agent.linked(healthy);
    await agent.unlinked();
    const sent = edge.reports.length;
    await agent.observe(memoryLow);
    expect(edge.reports.length).toBe(sent);
    await agent.linked(memoryLow);
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1', 'NodeRegistrationConfirmed.v1', 'NodeWentOffline.v1', 'NodeConditionsChanged.v1', 'NodeCameOnline.v1']);
    expect(conditionsOf(edge.reports.at(-1))['MemoryPressure']?.status).toBe('True');
  });

  it('when the Node is deleted, stays decommissioned across a restart until the cloud links it again, then registers anew', async () => {
    const edge = edgeJournal();
    const first = await edge.agent();
    await first.linked(healthy);
    await first.deleted();
    expect(first.decommissioned).toBe(true);
    const restarted = await edge.agent();
    expect(restarted.decommissioned).toBe(true);
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1', 'NodeRegistrationConfirmed.v1', 'NodeDecommissioned.v1']);
    await restarted.linked(healthy);
    expect(restarted.decommissioned).toBe(false);
    expect(await edge.journaled()).toEqual(['NodeRegistered.v1', 'NodeRegistrationConfirmed.v1', 'NodeDecommissioned.v1', 'NodeRegistered.v1', 'NodeRegistrationConfirmed.v1']);
  });
});

describe('observedConditions', () => {
  const reasonOf = (conditions: readonly ConditionReport[], type: string): string | undefined => conditions.find((c) => c.type === type)?.reason;

  it('reports pressure at the kubelet eviction thresholds: memory under 100Mi, disk under 10% free', () => {
    expect(reasonOf(healthy, 'MemoryPressure')).toBe('EdgeHasSufficientMemory');
    expect(reasonOf(memoryLow, 'MemoryPressure')).toBe('EdgeHasInsufficientMemory');
    expect(reasonOf(observedConditions({ memoryAvailableBytes: 100 * 1024 * 1024, diskAvailableBytes: 10, diskTotalBytes: 100 }), 'DiskPressure')).toBe('EdgeHasNoDiskPressure');
    expect(reasonOf(observedConditions({ memoryAvailableBytes: 100 * 1024 * 1024, diskAvailableBytes: 9, diskTotalBytes: 100 }), 'DiskPressure')).toBe('EdgeHasDiskPressure');
  });
});

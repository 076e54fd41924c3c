// `edgehive status`, the pure half: the facts gathered from the edge journals, the cloud journal and
// the Kubernetes API go in, one report comes out (per node: Ready, link, pending up/down, journal
// sizes; per device: its twin at the edge next to the Device in the API). No I/O, no clock: `nowMs`
// is passed in.

/** A journal file's size on disk: the database file plus its write-ahead log. */
export interface JournalSize {
  readonly path: string;
  readonly fileBytes: number;
  readonly walBytes: number;
}

/** One twin property as the edge holds it (KubeEdge's expected/actual); null = no value. */
export interface EdgeTwinProperty {
  readonly name: string;
  readonly expected: string | null;
  readonly actual: string | null;
}

/** A device twin folded from an edge journal. */
export interface EdgeTwinFacts {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly state: string;
  readonly properties: readonly EdgeTwinProperty[];
}

/** What an edge's journal says, read-only. `outbox` is undefined before the edge first linked. */
export type EdgeFacts =
  | {
      readonly readable: true;
      readonly dir: string;
      readonly nodeName: string;
      readonly journal: JournalSize;
      readonly journalId: string;
      readonly outbox: { readonly head: number; readonly floor: number } | undefined;
      /** uid → content hash of every desired object the edge holds. */
      readonly held: ReadonlyMap<string, string>;
      readonly twins: readonly EdgeTwinFacts[];
    }
  | { readonly readable: false; readonly dir: string; readonly nodeName: string; readonly journal: JournalSize | undefined; readonly error: string };

/** A node's stream link as the cloud journal recorded it (actors/link). */
export interface LinkRecord {
  readonly status: string;
  /** Cloud wall time (ISO 8601) the current status began. */
  readonly since: string | null;
  readonly mode: string | null;
  readonly lastClose: { readonly code: number; readonly reason: string } | null;
}

/** What the cloud's own journal says; `error` when it exists but cannot be read. */
export interface CloudJournalFacts {
  readonly journal: JournalSize | undefined;
  readonly links: ReadonlyMap<string, LinkRecord>;
  readonly error: string | undefined;
}

/** A node's stream Lease (kube-system/edgehive-stream.<node>): held by the cloud process serving it. */
export interface StreamLeaseFacts {
  readonly holder: string;
  /** ISO 8601 as written by the holder; undefined when absent or unreadable. */
  readonly renewTime: string | undefined;
  readonly durationSeconds: number | undefined;
}

/** A node's NodeSync object: the cloud's applied up position and the edge's acked objects. */
export interface NodeSyncFacts {
  readonly journalId: string | undefined;
  readonly upApplied: number;
  /** uid → acked content hash (null: sent, not acknowledged yet). */
  readonly acked: ReadonlyMap<string, string | null>;
}

/** A Node's Ready condition; undefined status when the Node has none. */
export interface NodeReadyFacts {
  readonly status: string | undefined;
  readonly lastTransitionTime: string | undefined;
}

/** One property of a Device in the API: spec desired, status reported. */
export interface ApiTwinProperty {
  readonly name: string;
  readonly desired: string | null;
  readonly reported: string | null;
}

/** A Device (devices.kubeedge.io/v1beta1) as the API holds it. */
export interface ApiDeviceFacts {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string | undefined;
  readonly state: string | undefined;
  readonly properties: readonly ApiTwinProperty[];
}

/** What the Kubernetes API says, or why it could not be asked. */
export type ApiFacts =
  | { readonly reachable: false; readonly server: string | undefined; readonly error: string }
  | {
      readonly reachable: true;
      readonly server: string;
      /** Edge nodes: those with the edge role label or a NodeSync. */
      readonly nodes: ReadonlyMap<string, NodeReadyFacts>;
      readonly nodeSyncs: ReadonlyMap<string, NodeSyncFacts>;
      readonly leases: ReadonlyMap<string, StreamLeaseFacts>;
      /** node → uid → content hash of its desired set; undefined when it could not be computed (see `downError`). */
      readonly desired: ReadonlyMap<string, ReadonlyMap<string, string>> | undefined;
      readonly downError: string | undefined;
      readonly devices: readonly ApiDeviceFacts[];
      /** Lists that failed (other than the Node list, whose failure makes the API unreachable). */
      readonly problems: readonly string[];
    };

/** Everything gathered for one run. */
export interface StatusFacts {
  readonly dataDir: string;
  readonly edges: readonly EdgeFacts[];
  readonly cloud: CloudJournalFacts | undefined;
  readonly api: ApiFacts;
}

/** A count, or null with the reason it is not known. */
export interface Count {
  readonly count: number | null;
  readonly note: string;
}

/** The link verdict: `linked` only on evidence that a cloud process holds the node's stream now. */
export interface LinkVerdict {
  readonly state: 'linked' | 'not linked' | 'unknown';
  /** Short, for the table cell. */
  readonly summary: string;
  readonly detail: string;
}

/** One node's row. */
export interface NodeReport {
  readonly name: string;
  /** True/False/Unknown from the API; `?` when unreachable, `-` when the API has no such Node. */
  readonly ready: string;
  readonly readyForMs: number | null;
  readonly link: LinkVerdict;
  /** Edge events not yet applied by the cloud: edge outbox head − NodeSync upApplied. */
  readonly up: Count;
  /** Desired objects the edge has not acknowledged (PROTOCOL.md, Down: pending). */
  readonly down: Count;
  /** Desired objects whose revision differs between the API and the edge's journal. */
  readonly edgeDiffers: Count;
  /** Outbox entries the edge still holds: what it has not seen acknowledged. */
  readonly outbox: Count;
  readonly journal: JournalSize | undefined;
  readonly edgeDir: string | undefined;
  readonly problems: readonly string[];
}

/** One property of a device: both sides and what differs. */
export interface PropertyReport {
  readonly name: string;
  readonly edge: { readonly expected: string | null; readonly actual: string | null } | undefined;
  readonly api: { readonly desired: string | null; readonly reported: string | null } | undefined;
  /** `expected≠desired` (the edge lacks the cloud's value) and/or `actual≠reported` (the API lacks the edge's). */
  readonly differs: readonly string[];
}

/** One device row. */
export interface DeviceReport {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string | undefined;
  readonly edgeState: string | undefined;
  readonly apiState: string | undefined;
  readonly properties: readonly PropertyReport[];
  /** Why a side is missing, or ''. */
  readonly note: string;
}

/** The report `edgehive status` prints (text or JSON). */
export interface StatusReport {
  readonly dataDir: string;
  readonly api: { readonly reachable: boolean; readonly server: string | undefined; readonly error: string | undefined; readonly problems: readonly string[] };
  readonly nodes: readonly NodeReport[];
  readonly cloudJournal: JournalSize | undefined;
  readonly cloudJournalError: string | undefined;
  readonly devices: readonly DeviceReport[];
}

const known = (count: number, note = ''): Count => ({ count, note });
const unknown = (note: string): Count => ({ count: null, note });

/**
 * Up pending (PROTOCOL.md, Up): the edge's outbox head minus the cloud's applied position, when both
 * follow the same edge journal.
 */
export function pendingUp(edge: EdgeFacts | undefined, api: ApiFacts, nodeName: string): Count {
  if (edge === undefined) return unknown('edge journal not in this data dir');
  if (!edge.readable) return unknown('edge journal unreadable');
  if (!api.reachable) return unknown('API unreachable');
  const sync = api.nodeSyncs.get(nodeName);
  if (sync === undefined || sync.journalId === undefined) return unknown('no NodeSync yet (never linked)');
  if (sync.journalId !== edge.journalId) return unknown(`NodeSync follows journal ${sync.journalId}, the edge's is ${edge.journalId} (full resync on the next link)`);
  const head = edge.outbox?.head ?? 0;
  if (sync.upApplied > head) return unknown(`the cloud applied ${sync.upApplied}, past the edge's outbox head ${head}`);
  return known(head - sync.upApplied);
}

/** How many entries of `desired` the `holder` lacks at their hash, plus the held ones no longer desired. */
export function countDiffering(desired: ReadonlyMap<string, string>, holder: ReadonlyMap<string, string | null>): number {
  let differing = 0;
  for (const [uid, hash] of desired) if (holder.get(uid) !== hash) differing += 1;
  for (const uid of holder.keys()) if (!desired.has(uid)) differing += 1;
  return differing;
}

/**
 * Down pending (PROTOCOL.md, Down): desired objects whose hash differs from the acked one, plus
 * tombstones for acked objects no longer desired — what the cloud would send on the next link.
 */
export function pendingDown(api: ApiFacts, nodeName: string): Count {
  if (!api.reachable) return unknown('API unreachable');
  if (api.desired === undefined) return unknown(`desired set not computed: ${api.downError ?? 'unknown error'}`);
  const sync = api.nodeSyncs.get(nodeName);
  return known(countDiffering(api.desired.get(nodeName) ?? new Map(), sync?.acked ?? new Map()));
}

/** Desired objects the edge's journal holds at another revision than the API's (or holds but should not). */
export function edgeDiffers(edge: EdgeFacts | undefined, api: ApiFacts, nodeName: string): Count {
  if (edge === undefined || !edge.readable) return unknown('edge journal not read');
  if (!api.reachable || api.desired === undefined) return unknown('desired set not known');
  return known(countDiffering(api.desired.get(nodeName) ?? new Map(), edge.held));
}

/** Outbox entries still held at the edge (its own view; needs no cloud). */
export function outboxHeld(edge: EdgeFacts | undefined): Count {
  if (edge === undefined || !edge.readable) return unknown('edge journal not read');
  if (edge.outbox === undefined) return known(0, 'no outbox yet');
  return known(edge.outbox.head - edge.outbox.floor);
}

const ageMs = (iso: string | null | undefined, nowMs: number): number | null => {
  if (iso === null || iso === undefined) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, nowMs - at);
};

/** A duration as kubectl prints ages: 45s, 12m, 5h, 3d. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '?';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

const describeRecord = (record: LinkRecord | undefined, nowMs: number): string => {
  if (record === undefined) return 'the cloud journal has no link record';
  const close = record.status === 'unlinked' && record.lastClose !== null ? ` (closed ${record.lastClose.code}${record.lastClose.reason === '' ? '' : ` ${record.lastClose.reason}`})` : '';
  return `cloud journal: ${record.status}${close} ${formatAge(ageMs(record.since, nowMs))} ago`;
};

/**
 * Linked or not, from the node's stream Lease: a cloud process holds it exactly while it serves the
 * node's stream, renews it every few seconds and releases it when the edge leaves. Its renewTime is
 * the holder's wall clock, read here against this host's (same host under `edgehive up`); the cloud
 * journal's record is given beside it. Without the API nothing current is known: `unknown`.
 */
export function linkOf(api: ApiFacts, record: LinkRecord | undefined, nodeName: string, nowMs: number): LinkVerdict {
  const journal = describeRecord(record, nowMs);
  if (!api.reachable) return { state: 'unknown', summary: record === undefined ? '?' : `? (journal: ${record.status})`, detail: `API unreachable; ${journal}` };
  const lease = api.leases.get(nodeName);
  if (lease === undefined) return { state: 'not linked', summary: record === undefined ? 'not linked (never)' : 'not linked', detail: `no stream Lease; ${journal}` };
  if (lease.holder === '') {
    const since = record?.status === 'unlinked' ? ` ${formatAge(ageMs(record.since, nowMs))}` : '';
    return { state: 'not linked', summary: `not linked${since}`, detail: `stream Lease released; ${journal}` };
  }
  const renewedMs = ageMs(lease.renewTime, nowMs);
  if (renewedMs === null || lease.durationSeconds === undefined) return { state: 'unknown', summary: '?', detail: `stream Lease held by ${lease.holder} without a renewTime or duration; ${journal}` };
  if (renewedMs > lease.durationSeconds * 1000) {
    return { state: 'not linked', summary: 'not linked (lease expired)', detail: `stream Lease held by ${lease.holder} but last renewed ${formatAge(renewedMs)} ago (duration ${lease.durationSeconds}s); ${journal}` };
  }
  const linkedFor = record?.status === 'linked' ? ` ${formatAge(ageMs(record.since, nowMs))}` : '';
  return { state: 'linked', summary: `linked${linkedFor}`, detail: `stream Lease held by ${lease.holder}, renewed ${formatAge(renewedMs)} ago; ${journal}` };
}

const sameValue = (a: string | null, b: string | null): boolean => (a ?? '') === (b ?? '');

/** Both sides of each property (by name, sorted), marking differences where both are known. */
export function propertiesOf(edge: EdgeTwinFacts | undefined, api: ApiDeviceFacts | undefined): PropertyReport[] {
  const names = [...new Set([...(edge?.properties ?? []).map((p) => p.name), ...(api?.properties ?? []).map((p) => p.name)])].sort();
  return names.map((name) => {
    const e = edge?.properties.find((p) => p.name === name);
    const a = api?.properties.find((p) => p.name === name);
    const edgeSide = edge === undefined ? undefined : { expected: e?.expected ?? null, actual: e?.actual ?? null };
    const apiSide = api === undefined ? undefined : { desired: a?.desired ?? null, reported: a?.reported ?? null };
    const differs: string[] = [];
    if (edgeSide !== undefined && apiSide !== undefined) {
      if (!sameValue(edgeSide.expected, apiSide.desired)) differs.push('expected≠desired');
      if (!sameValue(edgeSide.actual, apiSide.reported)) differs.push('actual≠reported');
    }
    return { name, edge: edgeSide, api: apiSide, differs };
  });
}

/** Devices from both sides, matched by uid (a re-created Device is another device). */
export function devicesOf(edges: readonly EdgeFacts[], api: ApiFacts): DeviceReport[] {
  const byUid = new Map<string, { edge?: EdgeTwinFacts; node?: string; api?: ApiDeviceFacts }>();
  for (const edge of edges) {
    if (!edge.readable) continue;
    for (const twin of edge.twins) byUid.set(twin.uid, { ...byUid.get(twin.uid), edge: twin, node: edge.nodeName });
  }
  if (api.reachable) for (const device of api.devices) byUid.set(device.uid, { ...byUid.get(device.uid), api: device });
  const rows = [...byUid].map(([uid, { edge, node, api: device }]): DeviceReport => ({
    namespace: device?.namespace ?? edge?.namespace ?? '',
    name: device?.name ?? edge?.name ?? '',
    uid,
    node: device?.nodeName ?? node,
    edgeState: edge?.state,
    apiState: device?.state,
    properties: propertiesOf(edge, device),
    note: !api.reachable ? 'API unreachable' : device === undefined ? 'not in the API (deleted?)' : edge === undefined ? 'no twin in the edge journals of this data dir' : '',
  }));
  return rows.sort((a, b) => `${a.namespace}/${a.name}/${a.uid}`.localeCompare(`${b.namespace}/${b.name}/${b.uid}`));
}

/** Node names from the data dir and the API, sorted. */
export function nodeNamesOf(facts: StatusFacts): string[] {
  const names = new Set(facts.edges.map((e) => e.nodeName));
  if (facts.api.reachable) for (const name of [...facts.api.nodes.keys(), ...facts.api.nodeSyncs.keys()]) names.add(name);
  return [...names].sort();
}

function nodeReport(facts: StatusFacts, name: string, nowMs: number): NodeReport {
  const edge = facts.edges.find((e) => e.nodeName === name);
  const api = facts.api;
  const node = api.reachable ? api.nodes.get(name) : undefined;
  const ready = !api.reachable ? '?' : node === undefined ? '-' : node.status ?? 'Unknown';
  const problems: string[] = [];
  if (edge !== undefined && !edge.readable) problems.push(`edge journal: ${edge.error}`);
  if (api.reachable && node === undefined) problems.push('no Node object in the API');
  return {
    name,
    ready,
    readyForMs: node === undefined ? null : ageMs(node.lastTransitionTime, nowMs),
    link: linkOf(api, facts.cloud?.links.get(name), name, nowMs),
    up: pendingUp(edge, api, name),
    down: pendingDown(api, name),
    edgeDiffers: edgeDiffers(edge, api, name),
    outbox: outboxHeld(edge),
    journal: edge?.journal,
    edgeDir: edge?.dir,
    problems,
  };
}

/** The report for the facts at `nowMs`. */
export function buildStatusReport(facts: StatusFacts, nowMs: number): StatusReport {
  const api = facts.api;
  return {
    dataDir: facts.dataDir,
    api: api.reachable ? { reachable: true, server: api.server, error: undefined, problems: api.problems } : { reachable: false, server: api.server, error: api.error, problems: [] },
    nodes: nodeNamesOf(facts).map((name) => nodeReport(facts, name, nowMs)),
    cloudJournal: facts.cloud?.journal,
    cloudJournalError: facts.cloud?.error,
    devices: devicesOf(facts.edges, api),
  };
}

// `edgehive status`, the printing half: a status report as one screen of aligned text, or as one
// JSON document for scripts. Pure: lines in, lines out.
import { formatAge, type Count, type DeviceReport, type JournalSize, type NodeReport, type StatusReport } from './status.report.js';

/** Devices the text view lists before it points to --json for the rest (one screen). */
export const DEVICES_SHOWN_MAX = 20;
/** Properties per device the text view lists. */
export const PROPERTIES_SHOWN_MAX = 10;
/** Characters of a twin value the text view shows; longer ones end in an ellipsis. */
const VALUE_CHARS_SHOWN_MAX = 16;

/** Bytes as people read them: 512 B, 4.0 KiB, 1.2 MiB, 3.0 GiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Rows as columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length))).join('  ').trimEnd());
}

const countCell = (count: Count): string => (count.count === null ? '?' : String(count.count));

const journalCell = (journal: JournalSize | undefined): string =>
  journal === undefined ? '-' : `${formatBytes(journal.fileBytes + journal.walBytes)}${journal.walBytes > 0 ? ` (wal ${formatBytes(journal.walBytes)})` : ''}`;

const readyCell = (node: NodeReport): string => (node.ready === '?' || node.ready === '-' ? node.ready : `${node.ready} ${formatAge(node.readyForMs)}`);

const shown = (value: string | null): string => (value === null || value === '' ? '-' : [...value].length > VALUE_CHARS_SHOWN_MAX ? `${[...value].slice(0, VALUE_CHARS_SHOWN_MAX - 1).join('')}…` : value);

function nodeTable(nodes: readonly NodeReport[]): string[] {
  const header = ['NODE', 'READY', 'LINK', 'UP', 'DOWN', 'OUTBOX', 'JOURNAL'];
  return alignColumns([header, ...nodes.map((n) => [n.name, readyCell(n), n.link.summary, countCell(n.up), countCell(n.down), countCell(n.outbox), journalCell(n.journal)])]);
}

/** Why a node's cells say what they say, when that needs saying; the API being down is said once above. */
function nodeNotes(node: NodeReport, apiReachable: boolean): string[] {
  const notes: string[] = [];
  if (node.link.state !== 'linked') notes.push(`link: ${node.link.detail}`);
  for (const [label, count] of [['up', node.up], ['down', node.down], ['outbox', node.outbox]] as const) {
    if (count.count === null && (apiReachable || count.note !== 'API unreachable')) notes.push(`${label}: ${count.note}`);
  }
  if (node.edgeDiffers.count !== null && node.edgeDiffers.count > 0) notes.push(`the edge journal holds ${node.edgeDiffers.count} desired object(s) at another revision than the API (in flight, or not acked yet)`);
  notes.push(...node.problems);
  return notes.map((note) => `  ${node.name} ${note}`);
}

function deviceRows(device: DeviceReport): string[][] {
  const name = `${device.namespace}/${device.name}`;
  const state = `${device.edgeState ?? '-'}/${device.apiState ?? '-'}`;
  const properties = device.properties.slice(0, PROPERTIES_SHOWN_MAX);
  if (properties.length === 0) return [[name, device.node ?? '-', state, '-', '-', '-', device.note]];
  return properties.map((p, i) => [
    i === 0 ? name : '',
    i === 0 ? device.node ?? '-' : '',
    i === 0 ? state : '',
    p.name,
    p.edge === undefined ? '?' : `${shown(p.edge.expected)} / ${shown(p.edge.actual)}`,
    p.api === undefined ? '?' : `${shown(p.api.desired)} / ${shown(p.api.reported)}`,
    [...p.differs, ...(i === 0 && device.note !== '' ? [device.note] : [])].join(' '),
  ]);
}

function deviceTable(devices: readonly DeviceReport[]): string[] {
  if (devices.length === 0) return ['no devices'];
  const header = ['DEVICE', 'NODE', 'STATE edge/api', 'PROPERTY', 'EDGE expected / actual', 'API desired / reported', ''];
  const lines = alignColumns([header, ...devices.slice(0, DEVICES_SHOWN_MAX).flatMap(deviceRows)]);
  if (devices.length > DEVICES_SHOWN_MAX) lines.push(`… and ${devices.length - DEVICES_SHOWN_MAX} more devices (--json lists all)`);
  return lines;
}

/** The report as text: a header, the node table, the cloud journal, the devices, then notes. */
export function formatStatusText(report: StatusReport): string[] {
  const api = report.api;
  const lines = [`edgehive status of ${report.dataDir}`];
  if (api.reachable) lines.push(`API ${api.server ?? ''}: reachable`);
  else if (api.server === undefined) lines.push(`API: not asked (${api.error ?? 'no kubeconfig'}); showing what the journals say`);
  else lines.push(`API ${api.server}: UNREACHABLE (${api.error ?? 'unknown error'}); showing what the journals say`);
  lines.push(...api.problems.map((problem) => `  API: ${problem}`));
  lines.push('', ...nodeTable(report.nodes));
  if (report.cloudJournal !== undefined) lines.push(`cloud journal: ${journalCell(report.cloudJournal)}  ${report.cloudJournal.path}`);
  if (report.cloudJournalError !== undefined) lines.push(`cloud journal: ${report.cloudJournalError}`);
  lines.push('UP: edge events the cloud has not applied. DOWN: desired objects the edge has not acked. OUTBOX: events the edge has not seen acked.');
  lines.push('', ...deviceTable(report.devices));
  const notes = report.nodes.flatMap((node) => nodeNotes(node, api.reachable));
  if (notes.length > 0) lines.push('', 'notes:', ...notes);
  return lines;
}

/** The report as one JSON document; absent values are null, so every key is always there. */
export function formatStatusJson(report: StatusReport): string {
  return JSON.stringify(report, (_key, value: unknown) => (value === undefined ? null : value));
}

// Name-based selection for `edgehive replay`: `--node X`, `--pod NS/NAME`, `--twin NS/NAME` find the
// stream(s) of that object without the user copying a uid; pure, the shell supplies the stream ids.
import { assertNever, err, ok, type Result } from '../../kernel/index.js';

/** What the user asked to replay, by name. A pod or twin without a namespace is in `default`. */
export type Selector =
  | { readonly kind: 'stream'; readonly stream: string }
  | { readonly kind: 'node'; readonly name: string }
  | { readonly kind: 'pod' | 'twin'; readonly namespace: string; readonly name: string };

/** The flags that select one actor; at most one may be given. */
export interface SelectionFlags {
  readonly stream?: string | undefined;
  readonly node?: string | undefined;
  readonly pod?: string | undefined;
  readonly twin?: string | undefined;
}

/** One stream that matched, with its uid (null for a node or link, which are keyed by name). */
export interface Incarnation {
  readonly stream: string;
  readonly uid: string | null;
  /** Global position of its oldest event still in the journal, to order incarnations by creation. */
  readonly firstPosition: bigint;
}

// Kubernetes names: a namespace is a DNS label, a name a DNS subdomain (dots allowed), both ≤ 253.
const namespacePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const namePattern = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const nameCharsMax = 253;

/** Parses the selection flags; none given is `undefined` (list the streams). */
export function parseSelector(flags: SelectionFlags): Result<Selector | undefined, string> {
  const given = (['stream', 'node', 'pod', 'twin'] as const).filter((flag) => flags[flag] !== undefined);
  if (given.length > 1) return err(`choose one of --stream, --node, --pod, --twin (got ${given.map((f) => `--${f}`).join(' and ')})`);
  if (flags.stream !== undefined) return ok({ kind: 'stream', stream: flags.stream });
  if (flags.node !== undefined) {
    return validName(flags.node) ? ok({ kind: 'node', name: flags.node }) : err(`--node takes a node name such as edge-1, not '${flags.node}'`);
  }
  const kind = flags.pod !== undefined ? 'pod' : flags.twin !== undefined ? 'twin' : undefined;
  if (kind === undefined) return ok(undefined);
  const text = (kind === 'pod' ? flags.pod : flags.twin) ?? '';
  const parts = text.split('/');
  const [namespace, name] = parts.length === 1 ? ['default', parts[0] ?? ''] : [parts[0] ?? '', parts[1] ?? ''];
  const example = kind === 'pod' ? 'default/hello-edge-7d9c5-x2kqf' : 'default/thermometer-1';
  if (parts.length > 2 || !namespacePattern.test(namespace) || !validName(name)) {
    return err(`--${kind} takes NAMESPACE/NAME (or NAME in default), e.g. ${example}, not '${text}'`);
  }
  return ok({ kind, namespace, name });
}

const validName = (name: string): boolean => name.length <= nameCharsMax && namePattern.test(name);

/**
 * The streams `selector` names, with their uids: `node-X` (edge) or `link-X` (cloud) for a node;
 * `pod-NS.NAME.<uid>` / `twin-NS.NAME.<uid>` for a pod or twin, one per incarnation.
 * @example matchStreams({ kind: 'twin', namespace: 'default', name: 't' }, ['twin-default.t.9b2e']) // [{ stream: 'twin-default.t.9b2e', uid: '9b2e' }]
 */
export function matchStreams(selector: Selector, streams: readonly string[]): { readonly stream: string; readonly uid: string | null }[] {
  switch (selector.kind) {
    case 'stream':
      return streams.filter((s) => s === selector.stream).map((stream) => ({ stream, uid: null }));
    case 'node':
      return streams.filter((s) => s === `node-${selector.name}` || s === `link-${selector.name}`).map((stream) => ({ stream, uid: null }));
    case 'pod':
    case 'twin': {
      // A uid has no dot, so the prefix plus a dot-free rest matches this name and not a longer one.
      const prefix = `${selector.kind}-${selector.namespace}.${selector.name}.`;
      return streams
        .filter((s) => s.startsWith(prefix) && s.length > prefix.length && !s.slice(prefix.length).includes('.'))
        .map((stream) => ({ stream, uid: stream.slice(prefix.length) }));
    }
    default:
      return assertNever(selector);
  }
}

/** Incarnations oldest first; the newest (created last) is the one replayed by default. */
export const byCreation = <T extends Incarnation>(incarnations: readonly T[]): T[] =>
  [...incarnations].sort((a, b) => (a.firstPosition < b.firstPosition ? -1 : a.firstPosition > b.firstPosition ? 1 : a.stream.localeCompare(b.stream)));

/** How the selector reads in messages: `twin default/thermometer-1`. */
export function describeSelector(selector: Selector): string {
  switch (selector.kind) {
    case 'stream':
      return `stream '${selector.stream}'`;
    case 'node':
      return `node ${selector.name}`;
    case 'pod':
    case 'twin':
      return `${selector.kind} ${selector.namespace}/${selector.name}`;
    default:
      return assertNever(selector);
  }
}

/** The error when nothing matches: says what was looked for and what the journal does hold of that kind. */
export function noMatchMessage(selector: Selector, path: string, streams: readonly string[]): string {
  if (selector.kind === 'stream') return `no stream '${selector.stream}' in ${path} (run without --stream to list them)`;
  const prefixes = selector.kind === 'node' ? ['node-', 'link-'] : [`${selector.kind}-`];
  const sameKind = streams.filter((s) => prefixes.some((p) => s.startsWith(p)));
  const shownMax = 5;
  const held = sameKind.length === 0 ? `it holds no ${selector.kind} streams` : `its ${selector.kind} streams: ${sameKind.slice(0, shownMax).join(', ')}${sameKind.length > shownMax ? `, … (${sameKind.length - shownMax} more)` : ''}`;
  return `no ${describeSelector(selector)} in ${path}; ${held} (run without a selection to list them)`;
}

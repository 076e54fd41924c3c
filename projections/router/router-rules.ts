// KubeEdge's Router rules (kubeedge-reference §6), pure: Rules and RuleEndpoints read from the API's
// JSON, and which Rule carries a message. Two routes are served: an edge app's upload (EventBus
// source) POSTed to a URL (rest target), and a cloud REST call (rest source) published on an edge's
// broker (EventBus target). KubeEdge's EventBus source subscribes `<namespace>/<topic>` on the edge;
// edgehive's EventBus forwards only `$hw/events/upload/…`, so a Rule's source topic T names the
// upload topic `$hw/events/upload/T` (or the whole topic, when T starts with `$hw/events/upload/`).
import { err, isJsonObject, ok, type Result } from '../../kernel/index.js';
import { nameOf, namespaceOf, objectAt, stringAt } from '../kube/json-fields.js';

/** The endpoint types KubeEdge defines. */
export const RULE_ENDPOINT_TYPES = ['rest', 'eventbus', 'servicebus'] as const;
export type RuleEndpointType = (typeof RULE_ENDPOINT_TYPES)[number];

/** A Rule or RuleEndpoint by namespace and name. */
export interface RuleRef {
  readonly namespace: string;
  readonly name: string;
}

/** A RuleEndpoint as the router uses it. */
export interface RuleEndpointView extends RuleRef {
  readonly type: RuleEndpointType;
}

/** A Rule as the router uses it: endpoint names (in the Rule's namespace) and their string maps. */
export interface RuleView extends RuleRef {
  readonly source: string;
  readonly sourceResource: Readonly<Record<string, string>>;
  readonly target: string;
  readonly targetResource: Readonly<Record<string, string>>;
}

/** What the router follows: every Rule and RuleEndpoint, keyed `<namespace>/<name>`. */
export interface RouterTable {
  readonly rules: ReadonlyMap<string, RuleView>;
  readonly endpoints: ReadonlyMap<string, RuleEndpointView>;
}

export const emptyRouterTable: RouterTable = { rules: new Map(), endpoints: new Map() };

/** The key of a Rule or RuleEndpoint in a RouterTable. */
export const refKey = (ref: RuleRef): string => `${ref.namespace}/${ref.name}`;

export const UPLOAD_TOPIC_PREFIX = '$hw/events/upload/';

const stringMap = (value: unknown): Readonly<Record<string, string>> => {
  if (!isJsonObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
};

/** A RuleEndpoint read from the API, or undefined when it has no name or a type KubeEdge does not define. */
export function ruleEndpointOf(object: unknown): RuleEndpointView | undefined {
  const name = nameOf(object);
  const type = stringAt(objectAt(object, 'spec'), 'ruleEndpointType');
  if (name === '' || !(RULE_ENDPOINT_TYPES as readonly string[]).includes(type ?? '')) return undefined;
  return { namespace: namespaceOf(object), name, type: type as RuleEndpointType };
}

/** A Rule read from the API, or undefined when it names no source or target. */
export function ruleOf(object: unknown): RuleView | undefined {
  const name = nameOf(object);
  const spec = objectAt(object, 'spec');
  const source = stringAt(spec, 'source') ?? '';
  const target = stringAt(spec, 'target') ?? '';
  if (name === '' || source === '' || target === '') return undefined;
  return { namespace: namespaceOf(object), name, source, sourceResource: stringMap(spec?.['sourceResource']), target, targetResource: stringMap(spec?.['targetResource']) };
}

/** Whether a Rule's source topic names this upload topic. */
export function ruleTopicMatches(ruleTopic: string, uploadTopic: string): boolean {
  if (ruleTopic === '') return false;
  if (ruleTopic.startsWith(UPLOAD_TOPIC_PREFIX)) return ruleTopic === uploadTopic;
  return `${UPLOAD_TOPIC_PREFIX}${ruleTopic.replace(/^\/+/, '')}` === uploadTopic;
}

const endpointType = (table: RouterTable, namespace: string, name: string): RuleEndpointType | undefined => table.endpoints.get(`${namespace}/${name}`)?.type;

/** Where an upload goes: the Rule that carries it and the URL it is POSTed to. */
export interface UploadRoute {
  readonly rule: RuleRef;
  readonly url: string;
}

/** Only http(s) targets: a Rule must not make the cloud open files or other schemes. */
export function isTargetUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The routes of an upload from `node` on `topic`: every eventbus→rest Rule whose sourceResource
 * names this node (`node_name`) and topic, and whose targetResource `resource` is an http(s) URL;
 * in key order, so a node's uploads are delivered the same way every time.
 * @example
 * uploadRoutes(table, 'edge-1', '$hw/events/upload/temperature') // [{ rule: { namespace: 'default', name: 'temp' }, url: 'http://…' }]
 */
export function uploadRoutes(table: RouterTable, node: string, topic: string): readonly UploadRoute[] {
  const routes: UploadRoute[] = [];
  for (const key of [...table.rules.keys()].sort()) {
    const rule = table.rules.get(key)!;
    if (endpointType(table, rule.namespace, rule.source) !== 'eventbus' || endpointType(table, rule.namespace, rule.target) !== 'rest') continue;
    if (rule.sourceResource['node_name'] !== node || !ruleTopicMatches(rule.sourceResource['topic'] ?? '', topic)) continue;
    const url = rule.targetResource['resource'] ?? '';
    if (isTargetUrl(url)) routes.push({ rule: { namespace: rule.namespace, name: rule.name }, url });
  }
  return routes;
}

/** Where a REST call goes: the Rule and the topic published on the edge's broker. */
export interface RestRoute {
  readonly rule: RuleRef;
  readonly topic: string;
}

const trimSlashes = (path: string): string => path.replace(/^\/+|\/+$/g, '');

/**
 * The route of a REST call on `path` (what follows `/<node>/<namespace>` in the URL): the
 * rest→eventbus Rule of that namespace whose sourceResource `path` is the call's path, or its
 * prefix at a segment boundary (the rest is appended to the topic, as KubeEdge appends its param).
 * The longest matching path wins; ties go to the first Rule by name.
 */
export function restRoute(table: RouterTable, namespace: string, path: string): RestRoute | undefined {
  const asked = trimSlashes(path);
  let best: { readonly route: RestRoute; readonly length: number } | undefined;
  for (const key of [...table.rules.keys()].sort()) {
    const rule = table.rules.get(key)!;
    if (rule.namespace !== namespace) continue;
    if (endpointType(table, namespace, rule.source) !== 'rest' || endpointType(table, namespace, rule.target) !== 'eventbus') continue;
    const rulePath = trimSlashes(rule.sourceResource['path'] ?? '');
    const topic = rule.targetResource['topic'] ?? '';
    if (rulePath === '' || topic === '') continue;
    const param = asked === rulePath ? '' : asked.startsWith(`${rulePath}/`) ? asked.slice(rulePath.length) : undefined;
    if (param === undefined || (best !== undefined && best.length >= rulePath.length)) continue;
    best = { route: { rule: { namespace, name: rule.name }, topic: `${topic}${param}` }, length: rulePath.length };
  }
  return best?.route;
}

/** A REST call's address: `/<nodeName>/<namespace>/<path…>` (KubeEdge's router URL). */
export interface RouterAddress {
  readonly node: string;
  readonly namespace: string;
  readonly path: string;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The node, namespace and path of a router URL path (percent-decoded), or why it is not one. */
export function parseRouterAddress(urlPath: string): Result<RouterAddress, string> {
  const [, node = '', namespace = '', ...rest] = urlPath.split('/');
  let path: string;
  try {
    path = `/${rest.map((segment) => decodeURIComponent(segment)).join('/')}`;
  } catch {
    return err('the path is not percent-encoded correctly');
  }
  if (node.length > 253 || !dnsSubdomain.test(node)) return err('expected /<nodeName>/<namespace>/<path>: the node name is not a DNS-1123 subdomain');
  if (namespace.length > 63 || !dnsLabel.test(namespace)) return err('expected /<nodeName>/<namespace>/<path>: the namespace is not a DNS-1123 label');
  if (trimSlashes(path) === '') return err('expected /<nodeName>/<namespace>/<path>: the path is empty');
  return ok({ node, namespace, path });
}

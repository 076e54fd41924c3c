// Maps client-node's model names (`V1Pod`, `CoreV1Event`) back to upstream OpenAPI definition names
// (`io.k8s.api.core.v1.Pod`, `io.k8s.api.core.v1.Event`), which kubectl and OpenAPI documents use.
//
// client-node's generator drops the Go package and keeps `<Version><Kind>`, prefixing the group only where
// two packages share a kind (`CoreV1Event` / `EventsV1Event`). We recover the package in three steps:
// 1. the (version, kind) pair is looked up among the definitions kubernetes-models ships, narrowed by the
//    group prefix when there is one;
// 2. a group prefix unknown to kubernetes-models still names the package (`ResourceV1ResourceClaim`);
// 3. a type imported by exactly one of client-node's per-group API classes (`ResourceV1Api`) of its
//    version belongs to that group;
// 4. a type newer than kubernetes-models (it lags client-node) takes the package of a type that refers
//    to it, since upstream nests a package's types inside that package.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import { builtinType, type FieldType } from './type-graph.js';
import { upstreamDefinitionNames } from './kubernetes-models.catalog.js';

/** Model names with no `<Version><Kind>` shape, mapped by hand. */
const SPECIAL_NAMES: ReadonlyMap<string, string> = new Map([['VersionInfo', 'io.k8s.apimachinery.pkg.version.Info']]);

/** The parts of a client-node model name: `CoreV1Event` → group `core`, version `v1`, kind `Event`. */
export interface ModelNameParts {
  readonly group: string | undefined;
  readonly version: string;
  readonly kind: string;
}

const MODEL_NAME = /^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/;

/** Splits a client-node model name; undefined when it is not of the `[Group]<Version><Kind>` form. */
export function parseModelName(model: string): ModelNameParts | undefined {
  const match = MODEL_NAME.exec(model);
  if (match === null) return undefined;
  const [, group, version = '', kind = ''] = match;
  return { group: group?.toLowerCase(), version: version.toLowerCase(), kind };
}

/** The Go-package part of an upstream name: `io.k8s.api.core.v1.Pod` → `io.k8s.api.core.v1`. */
const packageOf = (upstreamName: string): string => upstreamName.slice(0, upstreamName.lastIndexOf('.'));

/** The group word a package contributes to client-node prefixes: `core`, `events`, `apiextensions`, `meta`. */
const groupWordOf = (pkg: string): string => pkg.split('.').at(-2) ?? '';

let byVersionKind: ReadonlyMap<string, readonly string[]> | undefined;

function definitionsByVersionKind(): ReadonlyMap<string, readonly string[]> {
  if (byVersionKind !== undefined) return byVersionKind;
  const index = new Map<string, string[]>();
  for (const name of upstreamDefinitionNames()) {
    const pkg = packageOf(name);
    const key = `${pkg.split('.').at(-1) ?? ''}/${name.slice(pkg.length + 1)}`;
    index.set(key, [...(index.get(key) ?? []), name]);
  }
  byVersionKind = index;
  return index;
}

type Models = Record<string, { getAttributeTypeMap?: () => unknown } | undefined>;

/** Every model client-node generates, sorted so inference is deterministic. */
export const clientModelNames = (): readonly string[] =>
  Object.keys(clientNode)
    .filter((name) => typeof (clientNode as unknown as Models)[name]?.getAttributeTypeMap === 'function')
    .sort();

let referrerIndex: ReadonlyMap<string, readonly string[]> | undefined;

const referencedTypes = (type: FieldType): string[] => {
  switch (type.kind) {
    case 'object':
      return [type.typeName];
    case 'array':
      return referencedTypes(type.items);
    case 'map':
      return referencedTypes(type.values);
    case 'scalar':
      return [];
  }
};

function referrersOf(model: string): readonly string[] {
  if (referrerIndex === undefined) {
    const index = new Map<string, string[]>();
    for (const referrer of clientModelNames()) {
      for (const field of builtinType(referrer)?.fields.values() ?? []) {
        for (const target of referencedTypes(field)) index.set(target, [...(index.get(target) ?? []), referrer]);
      }
    }
    referrerIndex = index;
  }
  return referrerIndex.get(model) ?? [];
}

const resolved = new Map<string, string | null>();

/**
 * The upstream definition name of a client-node model, e.g. `V1ObjectMeta` →
 * `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`; undefined when it cannot be determined.
 */
export function upstreamDefinitionName(model: string): string | undefined {
  return resolve(model, new Set());
}

function resolve(model: string, visiting: Set<string>): string | undefined {
  const cached = resolved.get(model);
  if (cached !== undefined) return cached ?? undefined;
  const special = SPECIAL_NAMES.get(model);
  const parts = parseModelName(model);
  if (special !== undefined || parts === undefined || visiting.has(model)) return special;
  visiting.add(model);
  const result = fromCandidates(parts) ?? fromGroupPrefix(parts) ?? fromApiClasses(model, parts) ?? fromReferrers(model, parts, visiting);
  visiting.delete(model);
  // A failure inside a cycle may only mean the referrer was still being resolved: cache successes only.
  if (result !== undefined || visiting.size === 0) resolved.set(model, result ?? null);
  return result;
}

function fromCandidates(parts: ModelNameParts): string | undefined {
  const candidates = definitionsByVersionKind().get(`${parts.version}/${parts.kind}`) ?? [];
  const matching = parts.group === undefined ? candidates : candidates.filter((c) => groupWordOf(packageOf(c)) === parts.group);
  return matching.length === 1 ? matching[0] : undefined;
}

/** Packages whose group word is not an `io.k8s.api.<group>` group. */
const PACKAGE_OF_GROUP_WORD: ReadonlyMap<string, string> = new Map([
  ['apiextensions', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions'],
  ['apiregistration', 'io.k8s.kube-aggregator.pkg.apis.apiregistration'],
]);

// A group-prefixed name spells out its package even when kubernetes-models has never heard of it.
function fromGroupPrefix(parts: ModelNameParts): string | undefined {
  if (parts.group === undefined) return undefined;
  const pkg = PACKAGE_OF_GROUP_WORD.get(parts.group) ?? `io.k8s.api.${parts.group}`;
  return `${pkg}.${parts.version}.${parts.kind}`;
}

/** API class group words that differ from the Go package's group word. */
const API_CLASS_GROUP_WORDS: ReadonlyMap<string, string> = new Map([['internal', 'apiserverinternal']]);

let apiGroupsByModel: ReadonlyMap<string, readonly string[]> | undefined;

// client-node's `dist/gen/apis/<Group><Version>Api.d.ts` import the models each group's operations use.
function apiGroupsOf(model: string): readonly string[] {
  if (apiGroupsByModel === undefined) {
    const apisDir = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'apis');
    const index = new Map<string, string[]>();
    for (const file of readdirSync(apisDir)) {
      const match = /^([A-Z][a-z]+)[A-Za-z]*?(V\d+(?:alpha\d+|beta\d+)?)Api\.d\.ts$/.exec(file);
      if (match === null) continue;
      const word = (match[1] ?? '').toLowerCase();
      const group = `${API_CLASS_GROUP_WORDS.get(word) ?? word}/${(match[2] ?? '').toLowerCase()}`;
      for (const imported of readFileSync(join(apisDir, file), 'utf8').matchAll(/from '\.\.\/models\/(\w+)\.js'/g)) {
        const name = imported[1] ?? '';
        index.set(name, [...(index.get(name) ?? []), group]);
      }
    }
    apiGroupsByModel = index;
  }
  return apiGroupsByModel.get(model) ?? [];
}

function fromApiClasses(model: string, parts: ModelNameParts): string | undefined {
  const groups = apiGroupsOf(model).filter((g) => g.endsWith(`/${parts.version}`));
  if (groups.length !== 1) return undefined;
  const group = groups[0]?.split('/')[0] ?? '';
  return `${PACKAGE_OF_GROUP_WORD.get(group) ?? `io.k8s.api.${group}`}.${parts.version}.${parts.kind}`;
}

// A type kubernetes-models does not know yet lives in the package of whatever refers to it.
function fromReferrers(model: string, parts: ModelNameParts, visiting: Set<string>): string | undefined {
  for (const referrer of referrersOf(model)) {
    const referrerName = resolve(referrer, visiting);
    if (referrerName === undefined) continue;
    const pkg = packageOf(referrerName);
    const samePackageFamily = pkg.endsWith(`.${parts.version}`) && (parts.group === undefined || groupWordOf(pkg) === parts.group);
    if (samePackageFamily) return `${pkg}.${parts.kind}`;
  }
  return undefined;
}

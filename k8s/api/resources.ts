// The resources the embedded server serves: built-in kinds and whatever CRDs are installed.
import type { JsonObject } from '../../kernel/index.js';
import { builtinKindType } from '../schema/type-graph.js';
import { columnsFor, crdColumns, type Column, type PrinterColumn } from './tables.js';

export const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

export interface ResourceDef {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly ('status' | 'binding' | 'log' | 'exec' | 'attach' | 'portforward' | 'scale')[];
  /** The built-in type in the type graph (client-node model name); undefined for custom resources. */
  readonly typeName: string | undefined;
  /** For custom resources: the CRD's schema of this version. */
  readonly crdSchema?: JsonObject;
  readonly columns: readonly Column[];
  /** A spec edit bumps metadata.generation (kinds with a spec the controllers act on). */
  readonly tracksGeneration: boolean;
}

export const apiVersionOf = (def: Pick<ResourceDef, 'group' | 'version'>): string => (def.group === '' ? def.version : `${def.group}/${def.version}`);

interface BuiltinSpec {
  readonly group?: string;
  readonly version?: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources?: ResourceDef['subresources'];
  readonly tracksGeneration?: boolean;
}

const builtinSpecs: readonly BuiltinSpec[] = [
  { kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], subresources: ['status'] },
  { kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], subresources: ['status'] },
  { kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward'], tracksGeneration: true },
  { kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] },
  { kind: 'Secret', plural: 'secrets', namespaced: true },
  { kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'] },
  { kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] },
  { kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'] },
  { kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'] },
  { group: 'coordination.k8s.io', kind: 'Lease', plural: 'leases', namespaced: true },
  { group: 'apps', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], tracksGeneration: true },
  { group: 'apps', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], tracksGeneration: true },
  { group: 'apps', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true, shortNames: ['ds'], categories: ['all'], subresources: ['status'], tracksGeneration: true },
  { group: 'apps', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'], tracksGeneration: true },
];

export const builtinResources: readonly ResourceDef[] = builtinSpecs.map((s) => {
  const group = s.group ?? '';
  const version = s.version ?? 'v1';
  return {
    group,
    version,
    kind: s.kind,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    subresources: s.subresources ?? [],
    typeName: builtinKindType(group === '' ? version : `${group}/${version}`, s.kind),
    columns: columnsFor(s.kind),
    tracksGeneration: s.tracksGeneration ?? false,
  };
});

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The served versions of an established CRD, as resources. */
export function resourcesOfCrd(crd: JsonObject): readonly ResourceDef[] {
  const spec = (crd as Any).spec ?? {};
  const names = spec.names ?? {};
  return ((spec.versions ?? []) as Any[])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: String(spec.group),
      version: String(v.name),
      kind: String(names.kind),
      plural: String(names.plural),
      singular: String(names.singular ?? String(names.kind).toLowerCase()),
      namespaced: spec.scope !== 'Cluster',
      shortNames: (names.shortNames ?? []) as string[],
      categories: (names.categories ?? []) as string[],
      subresources: [...(v.subresources?.status !== undefined ? (['status'] as const) : []), ...(v.subresources?.scale !== undefined ? (['scale'] as const) : [])],
      typeName: undefined,
      ...(v.schema?.openAPIV3Schema === undefined ? {} : { crdSchema: v.schema.openAPIV3Schema as JsonObject }),
      columns: crdColumns((v.additionalPrinterColumns ?? []) as PrinterColumn[]),
      tracksGeneration: true,
    }));
}

/** Finds resources by group/version/plural, and holds the custom ones as CRDs come and go. */
export class ResourceRegistry {
  #custom = new Map<string, readonly ResourceDef[]>();
  #generation = 0;

  /** Changes whenever a CRD is set or removed: caches of what is served key on it. */
  get generation(): number {
    return this.#generation;
  }

  all(): readonly ResourceDef[] {
    return [...builtinResources, ...[...this.#custom.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.all().find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  /** Any served version of group/plural (for watch and storage keys, which are version-free). */
  byKind(group: string, kind: string): ResourceDef | undefined {
    return this.all().find((r) => r.group === group && r.kind === kind);
  }

  setCrd(name: string, crd: JsonObject | undefined): void {
    this.#generation += 1;
    if (crd === undefined) this.#custom.delete(name);
    else this.#custom.set(name, resourcesOfCrd(crd));
  }

  /** Group → versions, in discovery order (preferred first). */
  groups(): ReadonlyMap<string, readonly string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.all()) {
      const versions = out.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      out.set(r.group, versions);
    }
    return out;
  }
}

// What the kubernetes-models package knows about each upstream definition: its compiled JSON-schema
// validator (ajv, from the upstream OpenAPI) and its .d.ts with field docs. The package names its files
// after the upstream definition (`IoK8sApiCoreV1Pod` for `io.k8s.api.core.v1.Pod`), which is also how we
// learn the upstream names at all. Everything is read lazily, once, and cached.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One ajv error as kubernetes-models' compiled validators report it. */
export interface SchemaViolation {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/** A compiled validator: returns true when valid, else leaves its errors on `.errors`. */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: readonly SchemaViolation[] | null;
}

interface KnownDefinition {
  readonly schemaFile: string;
  readonly docsFile: string | undefined;
}

const VERSION = 'V\\d+(?:alpha\\d+|beta\\d+)?';
const lower = (s: string | undefined): string => (s ?? '').toLowerCase();

// The Go package of each family of definitions, as kubernetes-models spells it in file names.
const STEM_PATTERNS: readonly (readonly [RegExp, (m: RegExpExecArray) => string])[] = [
  [/^IoK8sApimachineryPkgApisMetaV1([A-Z]\w*)$/, (m) => `io.k8s.apimachinery.pkg.apis.meta.v1.${m[1]}`],
  [/^IoK8sApimachineryPkgApiResource([A-Z]\w*)$/, (m) => `io.k8s.apimachinery.pkg.api.resource.${m[1]}`],
  [/^IoK8sApimachineryPkgUtilIntstr([A-Z]\w*)$/, (m) => `io.k8s.apimachinery.pkg.util.intstr.${m[1]}`],
  [/^IoK8sApimachineryPkgRuntime([A-Z]\w*)$/, (m) => `io.k8s.apimachinery.pkg.runtime.${m[1]}`],
  [/^IoK8sApimachineryPkgVersion([A-Z]\w*)$/, (m) => `io.k8s.apimachinery.pkg.version.${m[1]}`],
  [new RegExp(`^IoK8sApiextensionsApiserverPkgApisApiextensions(${VERSION})([A-Z]\\w*)$`), (m) => `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${lower(m[1])}.${m[2]}`],
  [new RegExp(`^IoK8sKubeAggregatorPkgApisApiregistration(${VERSION})([A-Z]\\w*)$`), (m) => `io.k8s.kube-aggregator.pkg.apis.apiregistration.${lower(m[1])}.${m[2]}`],
  [new RegExp(`^IoK8sApi([A-Z][a-z0-9]*)(${VERSION})([A-Z]\\w*)$`), (m) => `io.k8s.api.${lower(m[1])}.${lower(m[2])}.${m[3]}`],
];

/** `IoK8sApiCoreV1Pod` → `io.k8s.api.core.v1.Pod`; undefined for a file name of no known family. */
export function upstreamNameFromSchemaFile(stem: string): string | undefined {
  for (const [pattern, build] of STEM_PATTERNS) {
    const match = pattern.exec(stem);
    if (match !== null) return build(match);
  }
  return undefined;
}

const requireHere = createRequire(import.meta.url);
let catalog: ReadonlyMap<string, KnownDefinition> | undefined;

/** Where kubernetes-models keeps the typed .d.ts of a definition (its docs live there). */
function docsFileOf(name: string, modelsRoot: string, apimachineryRoot: string, groupFolders: readonly string[]): string | undefined {
  const segments = name.split('.');
  const kind = segments.at(-1) ?? '';
  if (name.startsWith('io.k8s.apimachinery.pkg.')) return join(apimachineryRoot, ...segments.slice(4, -1), `${kind}.d.ts`);
  const version = segments.at(-2) ?? '';
  if (name.startsWith('io.k8s.apiextensions-apiserver.')) return join(modelsRoot, 'apiextensions.k8s.io', version, `${kind}.d.ts`);
  if (name.startsWith('io.k8s.kube-aggregator.')) return join(modelsRoot, 'apiregistration.k8s.io', version, `${kind}.d.ts`);
  const group = segments[3] ?? '';
  if (group === 'core') return join(modelsRoot, version, `${kind}.d.ts`);
  const folder = groupFolders.find((f) => f === group || f.startsWith(`${group}.`));
  return folder === undefined ? undefined : join(modelsRoot, folder, version, `${kind}.d.ts`);
}

function buildCatalog(): ReadonlyMap<string, KnownDefinition> {
  const modelsRoot = dirname(requireHere.resolve('kubernetes-models'));
  const apimachineryRoot = dirname(createRequire(join(modelsRoot, 'index.js')).resolve('@kubernetes-models/apimachinery'));
  const groupFolders = readdirSync(modelsRoot).filter((f) => !f.startsWith('_') && !f.includes('.d.ts') && !f.endsWith('.js') && !f.endsWith('.mjs'));
  const known = new Map<string, KnownDefinition>();
  for (const root of [apimachineryRoot, modelsRoot]) {
    const schemaDir = join(root, '_schemas');
    for (const file of readdirSync(schemaDir)) {
      if (!file.endsWith('.js')) continue;
      const name = upstreamNameFromSchemaFile(file.slice(0, -3));
      if (name === undefined) continue;
      known.set(name, { schemaFile: join(schemaDir, file), docsFile: docsFileOf(name, modelsRoot, apimachineryRoot, groupFolders) });
    }
  }
  return known;
}

const knownDefinitions = (): ReadonlyMap<string, KnownDefinition> => (catalog ??= buildCatalog());

/** Every upstream definition name kubernetes-models ships (its Kubernetes version, which may lag client-node's). */
export const upstreamDefinitionNames = (): readonly string[] => [...knownDefinitions().keys()];

const validators = new Map<string, SchemaValidator | null>();

/** kubernetes-models' compiled validator for an upstream definition, if it has one. */
export function schemaValidatorOf(upstreamName: string): SchemaValidator | undefined {
  const cached = validators.get(upstreamName);
  if (cached !== undefined) return cached ?? undefined;
  const file = knownDefinitions().get(upstreamName)?.schemaFile;
  const loaded = file === undefined ? null : ((requireHere(file) as { validate?: SchemaValidator }).validate ?? null);
  validators.set(upstreamName, loaded);
  return loaded ?? undefined;
}

const requiredLists = new Map<string, readonly string[]>();

/**
 * The properties the upstream schema requires, read by validating an empty object. kubernetes-models adds
 * `apiVersion` and `kind` to every top-level kind, which upstream does not require; they are left out.
 */
export function requiredFieldsOf(upstreamName: string): readonly string[] {
  const cached = requiredLists.get(upstreamName);
  if (cached !== undefined) return cached;
  const validate = schemaValidatorOf(upstreamName);
  const found: string[] = [];
  if (validate !== undefined && !validate({})) {
    for (const violation of validate.errors ?? []) {
      const missing = violation.params['missingProperty'];
      if (violation.keyword === 'required' && violation.instancePath === '' && typeof missing === 'string') found.push(missing);
    }
  }
  const result = found.filter((f) => f !== 'apiVersion' && f !== 'kind');
  requiredLists.set(upstreamName, result);
  return result;
}

/** The kubernetes-models .d.ts holding an upstream definition's JSDoc, if the package has one. */
export const docsFileOfDefinition = (upstreamName: string): string | undefined => knownDefinitions().get(upstreamName)?.docsFile;

// Validation of the built-in kinds edgehive serves, as kube-apiserver would answer it: unknown fields in
// strict-decoding wording, schema (type/required) errors from the upstream OpenAPI via kubernetes-models,
// and the semantic rules kubectl users meet most, with upstream's field paths and messages.
//
// Upstream rules implemented (everything else upstream checks is NOT checked here):
// - ObjectMeta: name required ("name or generateName is required"); name and generateName syntax per kind
//   (DNS-1123 subdomain ≤253; Namespace DNS-1123 label ≤63; Service DNS-1035 label ≤63; core Event only
//   path-segment rules; CRD subdomain and `<plural>.<group>`); label keys/values; annotation keys; total
//   annotation size ≤256 KiB. Namespace presence/consistency is left to the server.
// - Pod spec (also inside workload templates): containers required; container name required, DNS-1123
//   label, unique (init containers also against regular ones); image required; terminationMessagePolicy,
//   imagePullPolicy and restartPolicy enums; container ports 1–65535 (containerPort required, hostPort),
//   port names (IANA_SVC_NAME, unique per container), protocol enum.
// - Deployment/ReplicaSet: replicas ≥ 0, minReadySeconds ≥ 0, selector required and non-empty, selector
//   label syntax and requirement operators, selector must match template labels, template restartPolicy
//   Always, template label/annotation syntax at `spec.template.labels`/`.annotations` (upstream's path).
// - DaemonSet: selector matches template labels, non-empty selector, template restartPolicy Always.
// - ConfigMap: data/binaryData keys `[-._a-zA-Z0-9]+` (≤253, not `.`/`..`/`..*`), no key in both,
//   total size ≤1 MiB. Secret: data/stringData keys likewise, data base64 (Go's StdEncoding, padded),
//   total size ≤1 MiB.
// - Service: type enum, ports required (unless headless or ExternalName), port name required when
//   several, DNS-1123 label and unique, port 1–65535, protocol enum, targetPort number or name.
// - Endpoints: subset port numbers and protocols. Lease: leaseDurationSeconds > 0, leaseTransitions ≥ 0.
// - CustomResourceDefinition: name `<plural>.<group>`, group a dotted subdomain, scope enum.
// Not implemented, among much else: volumes, env, probes, resources, security contexts, DNS policy,
// node and namespace specs, Event fields, CRD versions/schemas, the "invalid label selector" error for
// selectors that cannot be converted, update-time (immutability) rules.
import { type FieldError, type FieldErrorType, formatFieldError, invalidObjectMessage } from './field-error.format.js';
import { crdNameMessages, validateConfigMap, validateCrdSpec, validateEndpoints, validateLeaseSpec, validateSecret, validateServiceSpec } from './core-kinds.rules.js';
import { type NameValidator, nameIsDns1035Label, nameIsDnsLabel, nameIsDnsSubdomain, nameIsPathSegment, validateName, validateObjectMeta } from './object-meta.rules.js';
import { validatePodSpec } from './pod-spec.rules.js';
import { validateDaemonSetSpec, validateDeploymentSpec, validateReplicaSetSpec } from './workload.rules.js';
import { schemaFieldErrors } from './schema-errors.mapping.js';
import { schemaValidatorOf } from './kubernetes-models.catalog.js';
import { upstreamDefinitionName } from './upstream-names.mapping.js';
import { builtinKindType, builtinType, type FieldType } from './type-graph.js';
import { resolvedFieldType } from './type-graph.aliases.js';
import { asRecord, fieldAt } from './json-fields.read.js';

export { type FieldError, type FieldErrorType, formatFieldError, invalidObjectMessage };

/** A built-in kind the embedded API server serves. */
export interface BuiltinKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

interface KindRules extends BuiltinKind {
  /** The name rule that needs only the name. */
  readonly names: NameValidator;
  /** The full name rule, where it also depends on the object (CRDs). */
  readonly objectNames?: (object: unknown) => NameValidator;
  readonly validate: (object: unknown) => FieldError[];
}

const none = (): FieldError[] => [];
const KIND_RULES: readonly KindRules[] = [
  { apiVersion: 'v1', kind: 'Namespace', namespaced: false, names: nameIsDnsLabel, validate: none },
  { apiVersion: 'v1', kind: 'Node', namespaced: false, names: nameIsDnsSubdomain, validate: none },
  { apiVersion: 'v1', kind: 'Pod', namespaced: true, names: nameIsDnsSubdomain, validate: (o) => validatePodSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true, names: nameIsDnsSubdomain, validate: validateConfigMap },
  { apiVersion: 'v1', kind: 'Secret', namespaced: true, names: nameIsDnsSubdomain, validate: validateSecret },
  { apiVersion: 'v1', kind: 'Service', namespaced: true, names: nameIsDns1035Label, validate: (o) => validateServiceSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'v1', kind: 'Endpoints', namespaced: true, names: nameIsDnsSubdomain, validate: validateEndpoints },
  { apiVersion: 'v1', kind: 'Event', namespaced: true, names: nameIsPathSegment, validate: none },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true, names: nameIsDnsSubdomain, validate: none },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespaced: true, names: nameIsDnsSubdomain, validate: (o) => validateLeaseSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true, names: nameIsDnsSubdomain, validate: (o) => validateDeploymentSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true, names: nameIsDnsSubdomain, validate: (o) => validateReplicaSetSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', namespaced: true, names: nameIsDnsSubdomain, validate: (o) => validateDaemonSetSpec(fieldAt(o, 'spec'), 'spec') },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', namespaced: false, names: nameIsDnsSubdomain, objectNames: crdNameMessages, validate: (o) => validateCrdSpec(fieldAt(o, 'spec'), 'spec') },
];

/** The built-in kinds this module validates. */
export const BUILTIN_KINDS: readonly BuiltinKind[] = KIND_RULES.map(({ apiVersion, kind, namespaced }) => ({ apiVersion, kind, namespaced }));

const rulesOf = (apiVersion: string, kind: string): KindRules | undefined => KIND_RULES.find((r) => r.apiVersion === apiVersion && r.kind === kind);

/** Whether `validateBuiltin` knows the kind; for any other kind it returns no errors. */
export const isBuiltinKind = (apiVersion: string, kind: string): boolean => rulesOf(apiVersion, kind) !== undefined;

/** Upstream caps strict-decoding errors at 100 per object; so do we. */
export const UNKNOWN_FIELDS_MAX = 100;
/** Deeper nesting than any built-in type has; a bound on the walk, not a rule. */
const UNKNOWN_FIELDS_DEPTH_MAX = 64;

/**
 * The fields of `object` that the kind's schema does not declare, as strict-decoding paths
 * (`.spec.containers[0].bogus`; map entries as `.key`). Fields typed as free-form (RawExtension,
 * `fieldsV1`, JSONSchemaProps' `default`/`items`/…) are not descended into.
 * @example unknownFields('v1', 'Pod', { spec: { bogus: 1 } }) // ['.spec.bogus']
 */
export function unknownFields(apiVersion: string, kind: string, object: unknown): string[] {
  // builtinKindType ignores the group (`devices.kubeedge.io/v1beta1` Device would find resource.k8s.io's).
  const root = isBuiltinKind(apiVersion, kind) ? builtinKindType(apiVersion, kind) : undefined;
  const found: string[] = [];
  if (root !== undefined) collectUnknown(object, { kind: 'object', typeName: root }, '', 0, found);
  return found;
}

/** kube-apiserver's strict-decoding message for a path from `unknownFields`: `unknown field "spec.bogus"`. */
export const unknownFieldMessage = (path: string): string => `unknown field "${path.startsWith('.') ? path.slice(1) : path}"`;

function collectUnknown(value: unknown, declared: FieldType, path: string, depth: number, found: string[]): void {
  const type = resolvedFieldType(declared);
  if (depth > UNKNOWN_FIELDS_DEPTH_MAX || found.length >= UNKNOWN_FIELDS_MAX) return;
  if (type.kind === 'array' && Array.isArray(value)) {
    value.forEach((item, i) => collectUnknown(item, type.items, `${path}[${i}]`, depth + 1, found));
  } else if (type.kind === 'map') {
    for (const [key, item] of Object.entries(asRecord(value) ?? {})) collectUnknown(item, type.values, `${path}.${key}`, depth + 1, found);
  } else if (type.kind === 'object') {
    const shape = builtinType(type.typeName);
    for (const [key, item] of Object.entries(asRecord(value) ?? {})) {
      const field = shape?.fields.get(key);
      if (field === undefined) {
        if (found.length < UNKNOWN_FIELDS_MAX) found.push(`${path}.${key}`);
      } else collectUnknown(item, field, `${path}.${key}`, depth + 1, found);
    }
  }
}

/**
 * The name checks of one kind (`metadata.name`), for the server to run on names from URLs or bodies.
 * Too-long and malformed names are `FieldValueInvalid`, which upstream answers with 422. A CRD's
 * `<plural>.<group>` rule needs the object, so only its subdomain rule runs here.
 */
export function validateMetadataName(kind: string, name: string): FieldError[] {
  return validateName(name, KIND_RULES.find((r) => r.kind === kind)?.names ?? nameIsDnsSubdomain);
}

const isUnder = (field: string, parent: string): boolean => field === parent || field.startsWith(`${parent}.`) || field.startsWith(`${parent}[`);

/**
 * Every error kube-apiserver would report for creating `object` as the given kind (update-only rules
 * excepted). A field with a type error gets no semantic errors (upstream would not have decoded it);
 * otherwise a semantic error replaces the schema error on the same field, since upstream's wording
 * (e.g. the order of supported values) comes from the semantic rule.
 */
export function validateBuiltin(apiVersion: string, kind: string, object: unknown): FieldError[] {
  const rules = rulesOf(apiVersion, kind);
  if (rules === undefined) return [];
  const model = builtinKindType(apiVersion, kind) ?? '';
  const upstreamName = upstreamDefinitionName(model);
  const validate = upstreamName === undefined ? undefined : schemaValidatorOf(upstreamName);
  const schemaErrors = validate === undefined || validate(object) ? [] : schemaFieldErrors(validate.errors ?? [], object, model);
  const names = rules.objectNames?.(object) ?? rules.names;
  const semantic = [...validateObjectMeta(fieldAt(object, 'metadata'), names), ...rules.validate(object)];
  const typeFields = schemaErrors.filter((e) => e.type === 'FieldValueTypeInvalid').map((e) => e.field);
  const kept = semantic.filter((e) => !typeFields.some((f) => isUnder(e.field, f)));
  const semanticFields = new Set(kept.map((e) => e.field));
  const combined = [...schemaErrors.filter((e) => e.type === 'FieldValueTypeInvalid' || !semanticFields.has(e.field)), ...kept];
  const unique = new Map(combined.map((e) => [formatFieldError(e), e]));
  return [...unique.values()];
}

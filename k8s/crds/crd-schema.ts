// Custom resources checked against their CRD's structural `openAPIV3Schema` the way kube-apiserver
// checks them: validation with upstream's error wording, unknown-field detection and pruning,
// and structural defaulting. Everything here is pure except loadBundledCrds, which reads the
// CRD manifests shipped beside this module.
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { err, invariant, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { compileAjvValidator, forgetAjvValidator, toAjvSchema, toFieldErrors } from './crd-schema.ajv.js';
import { applyStructuralDefaults } from './crd-schema.defaults.js';
import { embeddedResourceErrors } from './crd-schema.embedded.js';
import type { FieldError } from './crd-schema.errors.js';
import { listTypeErrors } from './crd-schema.list-type.js';
import { asObject, parseStructuralSchema, type SchemaNode } from './crd-schema.node.js';
import { pruneNonNullableNulls, pruneUnknownFields } from './crd-schema.prune.js';

export { formatFieldError, goQuote, type FieldError, type FieldErrorType } from './crd-schema.errors.js';

/** A compiled CRD schema; every method is pure and leaves its argument unchanged. */
export interface CrdSchema {
  /**
   * Schema errors, then duplicate list-set items and list-map keys, then embedded-resource
   * errors, worded as kube-apiserver words them. The root's `metadata` is not checked here.
   * @example schema.validate(device).map(formatFieldError) // ['spec.properties[0].desired.value: Required value']
   */
  validate(object: JsonValue): readonly FieldError[];
  /** Paths of fields the schema does not declare (`.spec.foo`, `.spec.properties[1].bar`); see unknownFieldMessage. */
  unknownFields(object: JsonValue): readonly string[];
  /** What the server stores under fieldValidation=Ignore or Warn: unknown fields and disallowed nulls removed. */
  prune(object: JsonValue): JsonValue;
  /** The object with the schema's `default`s filled in, including defaults inside defaults. */
  applyDefaults(object: JsonValue): JsonValue;
}

/** kube-apiserver's strict field validation message for one unknown field path. */
export const unknownFieldMessage = (path: string): string => `unknown field "${path.startsWith('.') ? path.slice(1) : path}"`;

function makeCrdSchema(root: SchemaNode, validateValues: ValidateFunction): CrdSchema {
  return {
    validate(object) {
      const schemaErrors = validateValues(object) ? [] : toFieldErrors(validateValues.errors ?? [], object);
      return [...schemaErrors, ...listTypeErrors(object, root), ...embeddedResourceErrors(object, root)];
    },
    unknownFields: (object) => pruneUnknownFields(object, root).unknownFields,
    prune: (object) => pruneNonNullableNulls(pruneUnknownFields(object, root).value, root),
    applyDefaults: (object) => applyStructuralDefaults(object, root),
  };
}

// Compiling runs ajv's code generation, so compiled schemas are kept: by identity for callers
// that hold on to the CRD object, by text for callers that parse it again. The text cache is
// bounded; ajv is told to forget what falls out of it.
export const compiledSchemasMax = 64;
const byIdentity = new WeakMap<object, CrdSchema>();
const byText = new Map<string, { readonly compiled: CrdSchema; readonly ajvSchema: JsonObject }>();

function rememberByText(text: string, compiled: CrdSchema, ajvSchema: JsonObject): void {
  byText.set(text, { compiled, ajvSchema });
  if (byText.size <= compiledSchemasMax) return;
  const [oldestText, oldest] = byText.entries().next().value ?? [];
  invariant(oldestText !== undefined && oldest !== undefined, 'an over-full cache has an oldest entry');
  byText.delete(oldestText);
  forgetAjvValidator(oldest.ajvSchema);
}

function compileUncached(schema: JsonValue): Result<{ readonly compiled: CrdSchema; readonly ajvSchema: JsonObject }, string> {
  const root = parseStructuralSchema(schema);
  if (!root.ok) return err(root.error.join('; '));
  const ajvSchema = toAjvSchema(asObject(schema) ?? {}, true);
  const validateValues = compileAjvValidator(ajvSchema);
  if (!validateValues.ok) return err(validateValues.error);
  return ok({ compiled: makeCrdSchema(root.value, validateValues.value), ajvSchema });
}

/**
 * Compiles an apiextensions v1 structural `openAPIV3Schema`; refuses schemas that are not
 * structural in ways validation depends on, with upstream's CRD validation wording.
 * @example
 * const device = compileCrdSchema(crd.spec.versions[0].schema.openAPIV3Schema);
 * if (device.ok) device.value.validate(body);
 */
export function compileCrdSchema(schema: JsonValue): Result<CrdSchema, string> {
  const identity = asObject(schema);
  const known = identity === undefined ? undefined : byIdentity.get(identity);
  if (known !== undefined) return ok(known);
  const text = JSON.stringify(schema);
  const cached = byText.get(text);
  const compiled = cached === undefined ? compileUncached(schema) : ok(cached);
  if (!compiled.ok) return compiled;
  if (cached === undefined) rememberByText(text, compiled.value.compiled, compiled.value.ajvSchema);
  if (identity !== undefined) byIdentity.set(identity, compiled.value.compiled);
  return ok(compiled.value.compiled);
}

/** The CRD manifests edgehive installs at start, beside this module. */
export const bundledCrdFiles: readonly URL[] = [
  new URL('./devices.kubeedge.io_devices.yaml', import.meta.url),
  new URL('./devices.kubeedge.io_devicemodels.yaml', import.meta.url),
  new URL('./edgehive.io_nodesyncs.yaml', import.meta.url),
  new URL('./rules.kubeedge.io_rules.yaml', import.meta.url),
  new URL('./rules.kubeedge.io_ruleendpoints.yaml', import.meta.url),
];

let bundledCrds: readonly JsonObject[] | undefined;

/** Reads and parses the bundled CustomResourceDefinitions (once; they ship with the code). */
export function loadBundledCrds(): readonly JsonObject[] {
  bundledCrds ??= bundledCrdFiles.map((file) => {
    const manifest: unknown = parseYaml(readFileSync(file, 'utf8'));
    // A malformed bundled manifest is a defect in this repository, not an input problem.
    invariant(isJsonObject(manifest) && manifest['kind'] === 'CustomResourceDefinition', `${file.pathname} holds a CustomResourceDefinition`);
    return manifest as JsonObject;
  });
  return bundledCrds;
}

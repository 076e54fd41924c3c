// ObjectMeta checks as kube-apiserver runs them (apimachinery's ValidateObjectMetaAccessor and
// meta/v1/validation): name or generateName, label and annotation syntax.
import { type FieldError, childPath, invalid, required, tooLong } from './field-error.format.js';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue, isValidPathSegmentName } from './k8s-names.rules.js';
import { asRecord, asString, asStringMap } from './json-fields.read.js';

/** A name validator as upstream's `ValidateNameFunc`: messages for a name, or for a generateName prefix. */
export type NameValidator = (name: string, prefix: boolean) => string[];

// Upstream's maskTrailingDash: a generateName prefix may end in '-', since a random suffix follows.
const maskTrailingDash = (name: string): string => (name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name);

/** `NameIsDNSSubdomain`: Pod, Node, ConfigMap, Secret, Endpoints, ServiceAccount, Lease, Deployment, ReplicaSet, DaemonSet. */
export const nameIsDnsSubdomain: NameValidator = (name, prefix) => isDns1123Subdomain(prefix ? maskTrailingDash(name) : name);

/** `NameIsDNSLabel`: Namespace. */
export const nameIsDnsLabel: NameValidator = (name, prefix) => isDns1123Label(prefix ? maskTrailingDash(name) : name);

/** `NameIsDNS1035Label`: Service. */
export const nameIsDns1035Label: NameValidator = (name, prefix) => isDns1035Label(prefix ? maskTrailingDash(name) : name);

/** `path.ValidatePathSegmentName`: all core/v1 Events get (their own validation skips names). */
export const nameIsPathSegment: NameValidator = (name, prefix) => (prefix ? isValidPathSegmentName(name).filter((m) => !m.startsWith('may not be')) : isValidPathSegmentName(name));

/** Upstream's total annotation size limit (256 KiB). */
export const TOTAL_ANNOTATION_SIZE_BYTES_MAX = 256 * 1024;

/** `ValidateLabels`: every key must be a qualified name and every value a label value; errors name the map. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(asStringMap(labels) ?? {})) {
    for (const message of isQualifiedName(key)) errors.push(invalid(path, key, message));
    for (const message of isValidLabelValue(value)) errors.push(invalid(path, value, message));
  }
  return errors;
}

/** `ValidateAnnotations`: keys are qualified names (case-insensitively); the total size is bounded. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let totalBytes = 0;
  for (const [key, value] of Object.entries(asStringMap(annotations) ?? {})) {
    for (const message of isQualifiedName(key.toLowerCase())) errors.push(invalid(path, key, message));
    totalBytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (totalBytes > TOTAL_ANNOTATION_SIZE_BYTES_MAX) errors.push(tooLong(path, TOTAL_ANNOTATION_SIZE_BYTES_MAX));
  return errors;
}

/** The name checks alone: `metadata.name: Required value: name or generateName is required`, or the validator's messages. */
export function validateName(name: string, validator: NameValidator, path = 'metadata'): FieldError[] {
  const field = childPath(path, 'name');
  if (name === '') return [required(field, 'name or generateName is required')];
  return validator(name, false).map((message) => invalid(field, name, message));
}

/**
 * ObjectMeta of a created or updated object. Namespace presence and consistency are the server's
 * business (it takes the namespace from the URL), so they are not checked here.
 */
export function validateObjectMeta(metadata: unknown, validator: NameValidator, path = 'metadata'): FieldError[] {
  const meta = asRecord(metadata) ?? {};
  const errors: FieldError[] = [];
  const generateName = asString(meta['generateName']) ?? '';
  if (generateName !== '') {
    for (const message of validator(generateName, true)) errors.push(invalid(childPath(path, 'generateName'), generateName, message));
  }
  const name = asString(meta['name']) ?? '';
  // A generateName stands in for the name: the server derives the name before it stores the object.
  if (name !== '' || generateName === '') errors.push(...validateName(name, validator, path));
  errors.push(...validateLabels(meta['labels'], childPath(path, 'labels')));
  errors.push(...validateAnnotations(meta['annotations'], childPath(path, 'annotations')));
  return errors;
}

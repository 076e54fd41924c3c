// Deployment, ReplicaSet and DaemonSet spec checks from pkg/apis/apps/validation, and the label-selector
// checks they rely on (meta/v1/validation.ValidateLabelSelector, labels.Selector matching).
import { type FieldError, childPath, forbidden, goStringMap, indexPath, invalid, notSupported, required } from './field-error.format.js';
import { isValidLabelValue, isQualifiedName } from './k8s-names.rules.js';
import { validateLabels } from './object-meta.rules.js';
import { effectiveRestartPolicy, validatePodTemplateSpec } from './pod-spec.rules.js';
import { type JsonRecord, asArray, asInteger, asRecord, asString, asStringMap, fieldAt } from './json-fields.read.js';

const SELECTOR_OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const IS_NEGATIVE = 'must be greater than or equal to 0';

/** `ValidateNonnegativeField`. */
export const validateNonnegative = (value: unknown, path: string): FieldError[] => {
  const number = asInteger(value);
  return number !== undefined && number < 0 ? [invalid(path, number, IS_NEGATIVE)] : [];
};

const stringList = (value: unknown): readonly string[] => (asArray(value) ?? []).filter((v): v is string => typeof v === 'string');

function validateSelectorRequirement(entry: unknown, path: string): FieldError[] {
  const requirement = asRecord(entry) ?? {};
  const operator = asString(requirement['operator']) ?? '';
  const values = stringList(requirement['values']);
  const errors: FieldError[] = [];
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0) errors.push(required(childPath(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
  } else if (operator === 'Exists' || operator === 'DoesNotExist') {
    if (values.length > 0) errors.push(forbidden(childPath(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  } else {
    errors.push(invalid(childPath(path, 'operator'), operator, 'not a valid selector operator'));
  }
  const key = asString(requirement['key']) ?? '';
  errors.push(...isQualifiedName(key).map((m) => invalid(childPath(path, 'key'), key, m)));
  values.forEach((value, i) => errors.push(...isValidLabelValue(value).map((m) => invalid(indexPath(childPath(path, 'values'), i), value, m))));
  return errors;
}

/** `ValidateLabelSelector` with invalid label values disallowed, as the apps group validates selectors. */
export function validateLabelSelector(selector: unknown, path: string): FieldError[] {
  const errors = validateLabels(fieldAt(selector, 'matchLabels'), childPath(path, 'matchLabels'));
  (asArray(fieldAt(selector, 'matchExpressions')) ?? []).forEach((entry, i) => {
    errors.push(...validateSelectorRequirement(entry, indexPath(childPath(path, 'matchExpressions'), i)));
  });
  return errors;
}

/** Whether a selector has no terms at all (upstream refuses those for workloads). */
const isEmptySelector = (selector: JsonRecord): boolean =>
  Object.keys(asRecord(selector['matchLabels']) ?? {}).length + (asArray(selector['matchExpressions']) ?? []).length === 0;

// Go's %#v of the selector upstream prints for an empty selector; matchLabels and matchExpressions are nil.
const EMPTY_SELECTOR_VALUE = { goSyntax: 'v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}' };

function requirementMatches(entry: unknown, labels: Readonly<Record<string, string>>): boolean {
  const key = asString(fieldAt(entry, 'key')) ?? '';
  const values = stringList(fieldAt(entry, 'values'));
  const has = Object.hasOwn(labels, key);
  switch (asString(fieldAt(entry, 'operator'))) {
    case 'In':
      return has && values.includes(labels[key] ?? '');
    case 'NotIn':
      return !has || !values.includes(labels[key] ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/**
 * `metav1.LabelSelectorAsSelector(selector).Matches(labels)`: undefined when the selector cannot be
 * converted (an unknown operator), which upstream reports as its own error. A missing selector matches
 * nothing; an empty one matches everything.
 */
export function selectorMatches(selectorValue: unknown, labels: Readonly<Record<string, string>>): boolean | undefined {
  if (selectorValue === undefined || selectorValue === null) return false;
  const selector = asRecord(selectorValue) ?? {};
  const expressions = asArray(selector['matchExpressions']) ?? [];
  if (expressions.some((e) => !SELECTOR_OPERATORS.includes(asString(fieldAt(e, 'operator')) ?? ''))) return undefined;
  const matchLabels = Object.entries(asStringMap(selector['matchLabels']) ?? {});
  return matchLabels.every(([key, value]) => labels[key] === value) && expressions.every((e) => requirementMatches(e, labels));
}

/** `ValidatePodTemplateSpecForReplicaSet`: the template must carry the labels the selector picks, and restart Always. */
function validateTemplateForSelector(spec: JsonRecord, path: string): FieldError[] {
  const templatePath = childPath(path, 'template');
  const template = spec['template'];
  const labels = asStringMap(fieldAt(template, 'metadata', 'labels'));
  const selector = spec['selector'];
  const errors: FieldError[] = [];
  const selectorIsEmpty = asRecord(selector) !== undefined && isEmptySelector(asRecord(selector) ?? {});
  if (!selectorIsEmpty && selectorMatches(selector, labels ?? {}) === false) {
    errors.push(invalid(childPath(templatePath, 'metadata.labels'), goStringMap(labels), '`selector` does not match template `labels`'));
  }
  errors.push(...validatePodTemplateSpec(template, templatePath));
  const restartPolicy = effectiveRestartPolicy(fieldAt(template, 'spec'));
  if (restartPolicy !== 'Always') errors.push(notSupported(childPath(templatePath, 'spec.restartPolicy'), restartPolicy, ['Always']));
  return errors;
}

function validateSelectorPresence(spec: JsonRecord, path: string, owner: string): FieldError[] {
  const selector = asRecord(spec['selector']);
  if (selector === undefined) return [required(childPath(path, 'selector'))];
  const errors = validateLabelSelector(selector, childPath(path, 'selector'));
  if (isEmptySelector(selector)) errors.push(invalid(childPath(path, 'selector'), EMPTY_SELECTOR_VALUE, `empty selector is invalid for ${owner}`));
  return errors;
}

/** `ValidateDeploymentSpec`: replicas, selector, template, minReadySeconds. */
export function validateDeploymentSpec(specValue: unknown, path: string): FieldError[] {
  const spec = asRecord(specValue) ?? {};
  return [
    ...validateNonnegative(spec['replicas'], childPath(path, 'replicas')),
    ...validateSelectorPresence(spec, path, 'deployment'),
    ...validateTemplateForSelector(spec, path),
    ...validateNonnegative(spec['minReadySeconds'], childPath(path, 'minReadySeconds')),
  ];
}

/** `ValidateReplicaSetSpec`; upstream's message for an empty selector says "deployment" here too. */
export function validateReplicaSetSpec(specValue: unknown, path: string): FieldError[] {
  const spec = asRecord(specValue) ?? {};
  return [
    ...validateNonnegative(spec['replicas'], childPath(path, 'replicas')),
    ...validateNonnegative(spec['minReadySeconds'], childPath(path, 'minReadySeconds')),
    ...validateSelectorPresence(spec, path, 'deployment'),
    ...validateTemplateForSelector(spec, path),
  ];
}

/** `ValidateDaemonSetSpec`: the selector must match the template labels; restart Always. */
export function validateDaemonSetSpec(specValue: unknown, path: string): FieldError[] {
  const spec = asRecord(specValue) ?? {};
  const selector = asRecord(spec['selector']);
  const labels = asStringMap(fieldAt(spec['template'], 'metadata', 'labels'));
  const errors = selector === undefined ? [] : validateLabelSelector(selector, childPath(path, 'selector'));
  if (selectorMatches(spec['selector'], labels ?? {}) === false) {
    errors.push(invalid(childPath(path, 'template.metadata.labels'), goStringMap(labels), '`selector` does not match template `labels`'));
  }
  if (selector !== undefined && isEmptySelector(selector)) errors.push(invalid(childPath(path, 'selector'), EMPTY_SELECTOR_VALUE, 'empty selector is invalid for daemonset'));
  errors.push(...validatePodTemplateSpec(spec['template'], childPath(path, 'template')));
  const restartPolicy = effectiveRestartPolicy(fieldAt(spec['template'], 'spec'));
  if (restartPolicy !== 'Always') errors.push(notSupported(childPath(path, 'template.spec.restartPolicy'), restartPolicy, ['Always']));
  return errors;
}

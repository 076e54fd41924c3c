// The pod-spec checks kubectl users hit most, ported from pkg/apis/core/validation (ValidatePodSpec,
// validateContainers, validateContainerPorts, validateRestartPolicy, validatePullPolicy) with upstream's
// paths and messages. Fields the apiserver defaults (restartPolicy, imagePullPolicy, protocol,
// terminationMessagePolicy) are only checked when present: an absent one is defaulted, not missing.
import { type FieldError, childPath, duplicate, indexPath, invalid, notSupported, required } from './field-error.format.js';
import { isDns1123Label, isValidPortName, isValidPortNum } from './k8s-names.rules.js';
import { validateAnnotations, validateLabels } from './object-meta.rules.js';
import { asArray, asInteger, asRecord, asString, fieldAt } from './json-fields.read.js';

/** Supported port protocols, sorted as upstream's `sets.List` prints them. */
export const PORT_PROTOCOLS: readonly string[] = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES: readonly string[] = ['Always', 'IfNotPresent', 'Never'];
// Upstream lists these in declaration order, not sorted.
const RESTART_POLICIES: readonly string[] = ['Always', 'OnFailure', 'Never'];
const TERMINATION_MESSAGE_POLICIES: readonly string[] = ['File', 'FallbackToLogsOnError'];

/** A string field that is present and non-empty; empty strings are what defaulting fills in. */
const presentString = (value: unknown): string | undefined => {
  const text = asString(value);
  return text === undefined || text === '' ? undefined : text;
};

function validateContainerPorts(ports: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  (asArray(ports) ?? []).forEach((entry, i) => {
    const port = asRecord(entry) ?? {};
    const at = indexPath(path, i);
    const name = presentString(port['name']);
    if (name !== undefined) {
      const messages = isValidPortName(name);
      if (messages.length > 0) errors.push(...messages.map((m) => invalid(childPath(at, 'name'), name, m)));
      else if (names.has(name)) errors.push(duplicate(childPath(at, 'name'), name));
      else names.add(name);
    }
    const containerPort = asInteger(port['containerPort']);
    if (containerPort === 0) errors.push(required(childPath(at, 'containerPort')));
    else if (containerPort !== undefined) errors.push(...isValidPortNum(containerPort).map((m) => invalid(childPath(at, 'containerPort'), containerPort, m)));
    const hostPort = asInteger(port['hostPort']);
    if (hostPort !== undefined && hostPort !== 0) errors.push(...isValidPortNum(hostPort).map((m) => invalid(childPath(at, 'hostPort'), hostPort, m)));
    const protocol = presentString(port['protocol']);
    if (protocol !== undefined && !PORT_PROTOCOLS.includes(protocol)) errors.push(notSupported(childPath(at, 'protocol'), protocol, PORT_PROTOCOLS));
  });
  return errors;
}

/** upstream `validateContainerCommon`, the part of it we implement. */
function validateContainerCommon(entry: unknown, path: string): FieldError[] {
  const container = asRecord(entry) ?? {};
  const errors: FieldError[] = [];
  const name = asString(container['name']) ?? '';
  if (name === '') errors.push(required(childPath(path, 'name')));
  else errors.push(...isDns1123Label(name).map((m) => invalid(childPath(path, 'name'), name, m)));
  if ((asString(container['image']) ?? '') === '') errors.push(required(childPath(path, 'image')));
  const terminationPolicy = presentString(container['terminationMessagePolicy']);
  if (terminationPolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(terminationPolicy)) {
    errors.push(notSupported(childPath(path, 'terminationMessagePolicy'), terminationPolicy, TERMINATION_MESSAGE_POLICIES));
  }
  errors.push(...validateContainerPorts(container['ports'], childPath(path, 'ports')));
  const pullPolicy = presentString(container['imagePullPolicy']);
  if (pullPolicy !== undefined && !PULL_POLICIES.includes(pullPolicy)) errors.push(notSupported(childPath(path, 'imagePullPolicy'), pullPolicy, PULL_POLICIES));
  return errors;
}

const containerName = (entry: unknown): string => asString(asRecord(entry)?.['name']) ?? '';

/** `validateContainers`: at least one; each valid; names unique among regular containers. */
function validateContainers(containers: unknown, path: string): FieldError[] {
  const list = asArray(containers) ?? [];
  if (list.length === 0) return [required(path)];
  const errors: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((entry, i) => {
    errors.push(...validateContainerCommon(entry, indexPath(path, i)));
    const name = containerName(entry);
    if (names.has(name)) errors.push(duplicate(childPath(indexPath(path, i), 'name'), name));
    else names.add(name);
  });
  return errors;
}

/** `validateInitContainers`: as containers, and names unique across init and regular containers. */
function validateInitContainers(initContainers: unknown, containers: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set((asArray(containers) ?? []).map(containerName));
  (asArray(initContainers) ?? []).forEach((entry, i) => {
    errors.push(...validateContainerCommon(entry, indexPath(path, i)));
    const name = containerName(entry);
    if (names.has(name)) errors.push(duplicate(childPath(indexPath(path, i), 'name'), name));
    else if (name !== '') names.add(name);
  });
  return errors;
}

/** The restart policy after defaulting: absent or empty means `Always`. */
export const effectiveRestartPolicy = (spec: unknown): string => presentString(fieldAt(spec, 'restartPolicy')) ?? 'Always';

/** `ValidatePodSpec`, the part of it we implement. */
export function validatePodSpec(specValue: unknown, path: string): FieldError[] {
  const spec = asRecord(specValue) ?? {};
  const errors = [...validateContainers(spec['containers'], childPath(path, 'containers'))];
  errors.push(...validateInitContainers(spec['initContainers'], spec['containers'], childPath(path, 'initContainers')));
  const restartPolicy = effectiveRestartPolicy(spec);
  if (!RESTART_POLICIES.includes(restartPolicy)) errors.push(notSupported(childPath(path, 'restartPolicy'), restartPolicy, RESTART_POLICIES));
  return errors;
}

/**
 * `ValidatePodTemplateSpec`. Upstream reports template label errors at `<template>.labels`, not
 * `<template>.metadata.labels`; so do we.
 */
export function validatePodTemplateSpec(template: unknown, path: string): FieldError[] {
  return [
    ...validateLabels(fieldAt(template, 'metadata', 'labels'), childPath(path, 'labels')),
    ...validateAnnotations(fieldAt(template, 'metadata', 'annotations'), childPath(path, 'annotations')),
    ...validatePodSpec(fieldAt(template, 'spec'), childPath(path, 'spec')),
  ];
}

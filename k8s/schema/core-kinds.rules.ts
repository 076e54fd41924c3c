// Checks for ConfigMap, Secret, Service, Endpoints, Lease and CustomResourceDefinition, ported from
// pkg/apis/core/validation, pkg/apis/coordination/validation and apiextensions' validation with
// upstream's paths and messages.
import { type FieldError, childPath, duplicate, indexPath, invalid, keyPath, notSupported, required, tooLong } from './field-error.format.js';
import { isConfigMapKey, isDns1123Label, isDns1123Subdomain, isValidPortName, isValidPortNum } from './k8s-names.rules.js';
import { nameIsDnsSubdomain } from './object-meta.rules.js';
import { PORT_PROTOCOLS } from './pod-spec.rules.js';
import { asArray, asInteger, asRecord, asString, fieldAt } from './json-fields.read.js';

/** Upstream `core.MaxSecretSize`: the bound on a ConfigMap's or Secret's data (1 MiB). */
export const CONFIG_DATA_BYTES_MAX = 1024 * 1024;
const SERVICE_TYPES: readonly string[] = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const CRD_SCOPES: readonly string[] = ['Cluster', 'Namespaced'];

const keysOf = (value: unknown): readonly string[] => Object.keys(asRecord(value) ?? {});

/** `ValidateConfigMap`: keys of data and binaryData, no key in both, total size bounded. */
export function validateConfigMap(object: unknown): FieldError[] {
  const data = asRecord(fieldAt(object, 'data')) ?? {};
  const binaryData = asRecord(fieldAt(object, 'binaryData')) ?? {};
  const errors: FieldError[] = [];
  let totalBytes = 0;
  const bags = [['data', data, binaryData, 'binaryData'], ['binaryData', binaryData, data, 'data']] as const;
  for (const [bagName, bag, other, otherName] of bags) {
    for (const [key, value] of Object.entries(bag)) {
      errors.push(...isConfigMapKey(key).map((m) => invalid(keyPath(bagName, key), key, m)));
      if (Object.hasOwn(other, key)) errors.push(invalid(keyPath(bagName, key), key, `duplicate of key present in ${otherName}`));
      totalBytes += typeof value === 'string' ? Buffer.byteLength(value, bagName === 'data' ? 'utf8' : 'base64') : 0;
    }
  }
  if (totalBytes > CONFIG_DATA_BYTES_MAX) errors.push(tooLong('', CONFIG_DATA_BYTES_MAX));
  return errors;
}

/** `ValidateSecret`: keys and total size. (Base64 of `data` is checked with the schema, as format `byte`.) */
export function validateSecret(object: unknown): FieldError[] {
  const data = asRecord(fieldAt(object, 'data')) ?? {};
  const errors: FieldError[] = [];
  let totalBytes = 0;
  // The apiserver merges stringData into data before validating, so both are reported as data[key].
  for (const key of [...new Set([...Object.keys(data), ...keysOf(fieldAt(object, 'stringData'))])]) {
    errors.push(...isConfigMapKey(key).map((m) => invalid(keyPath('data', key), key, m)));
  }
  for (const value of Object.values(data)) totalBytes += typeof value === 'string' ? Buffer.byteLength(value, 'base64') : 0;
  for (const value of Object.values(asRecord(fieldAt(object, 'stringData')) ?? {})) totalBytes += typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
  if (totalBytes > CONFIG_DATA_BYTES_MAX) errors.push(tooLong('data', CONFIG_DATA_BYTES_MAX));
  return errors;
}

/** `ValidatePortNumOrName` for an IntOrString target port. */
function validatePortNumOrName(value: unknown, path: string): FieldError[] {
  if (typeof value === 'number') return value === 0 ? [] : isValidPortNum(value).map((m) => invalid(path, value, m));
  if (typeof value === 'string' && value !== '') return isValidPortName(value).map((m) => invalid(path, value, m));
  return [];
}

/** `validateServicePort`, for port names, numbers, protocols and target ports. */
function validateServicePort(entry: unknown, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const port = asRecord(entry) ?? {};
  const errors: FieldError[] = [];
  const name = asString(port['name']) ?? '';
  if (requireName && name === '') errors.push(required(childPath(path, 'name')));
  else if (name !== '') {
    errors.push(...isDns1123Label(name).map((m) => invalid(childPath(path, 'name'), name, m)));
    if (names.has(name)) errors.push(duplicate(childPath(path, 'name'), name));
    else names.add(name);
  }
  const number = asInteger(port['port']);
  if (number !== undefined) errors.push(...isValidPortNum(number).map((m) => invalid(childPath(path, 'port'), number, m)));
  const protocol = asString(port['protocol']) ?? '';
  if (protocol !== '' && !PORT_PROTOCOLS.includes(protocol)) errors.push(notSupported(childPath(path, 'protocol'), protocol, PORT_PROTOCOLS));
  errors.push(...validatePortNumOrName(port['targetPort'], childPath(path, 'targetPort')));
  return errors;
}

/** `ValidateService`, the part of it we implement: type, ports. */
export function validateServiceSpec(specValue: unknown, path: string): FieldError[] {
  const spec = asRecord(specValue) ?? {};
  const errors: FieldError[] = [];
  const type = asString(spec['type']) ?? '';
  if (type !== '' && !SERVICE_TYPES.includes(type)) errors.push(notSupported(childPath(path, 'type'), type, SERVICE_TYPES));
  const ports = asArray(spec['ports']) ?? [];
  const headless = spec['clusterIP'] === 'None';
  if (ports.length === 0 && !headless && type !== 'ExternalName') errors.push(required(childPath(path, 'ports')));
  const names = new Set<string>();
  ports.forEach((port, i) => errors.push(...validateServicePort(port, ports.length > 1, names, indexPath(childPath(path, 'ports'), i))));
  return errors;
}

/** `validateEndpointSubsets`, for port numbers and protocols only. */
export function validateEndpoints(object: unknown): FieldError[] {
  const errors: FieldError[] = [];
  (asArray(fieldAt(object, 'subsets')) ?? []).forEach((subset, i) => {
    (asArray(fieldAt(subset, 'ports')) ?? []).forEach((entry, j) => {
      const path = indexPath(childPath(indexPath('subsets', i), 'ports'), j);
      const number = asInteger(fieldAt(entry, 'port'));
      if (number !== undefined) errors.push(...isValidPortNum(number).map((m) => invalid(childPath(path, 'port'), number, m)));
      const protocol = asString(fieldAt(entry, 'protocol')) ?? '';
      if (protocol !== '' && !PORT_PROTOCOLS.includes(protocol)) errors.push(notSupported(childPath(path, 'protocol'), protocol, PORT_PROTOCOLS));
    });
  });
  return errors;
}

/** `ValidateLeaseSpec`: a positive duration, non-negative transitions. */
export function validateLeaseSpec(specValue: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const duration = asInteger(fieldAt(specValue, 'leaseDurationSeconds'));
  if (duration !== undefined && duration <= 0) errors.push(invalid(childPath(path, 'leaseDurationSeconds'), duration, 'must be greater than 0'));
  const transitions = asInteger(fieldAt(specValue, 'leaseTransitions'));
  if (transitions !== undefined && transitions < 0) errors.push(invalid(childPath(path, 'leaseTransitions'), transitions, 'must be greater than or equal to 0'));
  return errors;
}

/** The CRD name rule: a DNS subdomain equal to `<spec.names.plural>.<spec.group>`. */
export function crdNameMessages(object: unknown): (name: string, prefix: boolean) => string[] {
  const requiredName = `${asString(fieldAt(object, 'spec', 'names', 'plural')) ?? ''}.${asString(fieldAt(object, 'spec', 'group')) ?? ''}`;
  return (name, prefix) => [...nameIsDnsSubdomain(name, prefix), ...(name === requiredName ? [] : ['must be spec.names.plural+"."+spec.group'])];
}

/** `validateCustomResourceDefinitionSpec`, the part of it we implement: group and scope. */
export function validateCrdSpec(specValue: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const group = asString(fieldAt(specValue, 'group')) ?? '';
  const groupPath = childPath(path, 'group');
  const groupErrors = isDns1123Subdomain(group);
  if (group === '') errors.push(required(groupPath));
  else if (groupErrors.length > 0) errors.push(invalid(groupPath, group, groupErrors.join(',')));
  else if (group.split('.').length < 2) errors.push(invalid(groupPath, group, 'should be a domain with at least one dot'));
  const scope = asString(fieldAt(specValue, 'scope')) ?? '';
  if (scope === '') errors.push(required(childPath(path, 'scope')));
  else if (!CRD_SCOPES.includes(scope)) errors.push(notSupported(childPath(path, 'scope'), scope, CRD_SCOPES));
  return errors;
}

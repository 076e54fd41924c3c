// Label and field selectors as kube-apiserver parses them (`-l app=web,tier in (a,b),!canary`,
// `--field-selector spec.nodeName=edge-1,status.phase!=Running`).
import { err, ok, type JsonObject, type Result } from '../../kernel/index.js';

export type LabelRequirement =
  | { readonly op: 'in'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists'; readonly key: string }
  | { readonly op: '!exists'; readonly key: string };

export type LabelSelector = readonly LabelRequirement[];

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') terms.push(current.trim());
  return terms;
}

const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function parseLabelSelector(text: string | undefined): Result<LabelSelector, string> {
  if (text === undefined || text.trim() === '') return ok([]);
  const requirements: LabelRequirement[] = [];
  for (const term of splitTerms(text)) {
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    const compare = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    let requirement: LabelRequirement;
    if (set !== null) {
      const values = (set[3] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
      requirement = { op: set[2] === 'in' ? 'in' : 'notin', key: set[1] ?? '', values };
    } else if (compare !== null) {
      requirement = { op: compare[2] === '!=' ? 'notin' : 'in', key: compare[1] ?? '', values: [compare[3] ?? ''] };
    } else if (term.startsWith('!')) {
      requirement = { op: '!exists', key: term.slice(1).trim() };
    } else {
      requirement = { op: 'exists', key: term };
    }
    if (!labelKey.test(requirement.key)) return err(`unable to parse requirement: invalid label key "${requirement.key}"`);
    if ('values' in requirement) {
      const bad = requirement.values.find((v) => !labelValue.test(v));
      if (bad !== undefined) return err(`unable to parse requirement: invalid label value: "${bad}"`);
    }
    requirements.push(requirement);
  }
  return ok(requirements);
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'in':
        return has && r.values.includes(labels[r.key] ?? '');
      case 'notin':
        return !has || !r.values.includes(labels[r.key] ?? '');
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly equals: boolean;
  readonly value: string;
}

/** Field selectors only know `=`, `==` and `!=`. */
export function parseFieldSelector(text: string | undefined): Result<readonly FieldRequirement[], string> {
  if (text === undefined || text.trim() === '') return ok([]);
  const out: FieldRequirement[] = [];
  for (const term of text.split(',')) {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (m === null) return err(`invalid selector: '${text}'; can't understand '${term}'`);
    out.push({ field: m[1] ?? '', equals: m[2] !== '!=', value: m[3] ?? '' });
  }
  return ok(out);
}

/** The field values one kind can be selected by, as the real server exposes them. */
export type FieldGetters = Readonly<Record<string, (object: JsonObject) => string>>;

const path =
  (...keys: string[]) =>
  (object: JsonObject): string => {
    let at: unknown = object;
    for (const key of keys) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
    return at === undefined || at === null ? '' : String(at);
  };

export const metadataFieldGetters: FieldGetters = {
  'metadata.name': path('metadata', 'name'),
  'metadata.namespace': path('metadata', 'namespace'),
};

/** Per kind, as in kube-apiserver's `GetAttrs`/`AddFieldLabelConversionFunc` registrations. */
export const fieldGettersByKind: Readonly<Record<string, FieldGetters>> = {
  Pod: {
    'spec.nodeName': path('spec', 'nodeName'),
    'spec.restartPolicy': path('spec', 'restartPolicy'),
    'spec.schedulerName': path('spec', 'schedulerName'),
    'spec.serviceAccountName': path('spec', 'serviceAccountName'),
    'spec.hostNetwork': (o) => String(path('spec', 'hostNetwork')(o) === 'true'),
    'status.phase': path('status', 'phase'),
    'status.podIP': path('status', 'podIP'),
    'status.nominatedNodeName': path('status', 'nominatedNodeName'),
  },
  Node: { 'spec.unschedulable': (o) => String(path('spec', 'unschedulable')(o) === 'true') },
  Event: {
    'involvedObject.kind': path('involvedObject', 'kind'),
    'involvedObject.namespace': path('involvedObject', 'namespace'),
    'involvedObject.name': path('involvedObject', 'name'),
    'involvedObject.uid': path('involvedObject', 'uid'),
    'involvedObject.apiVersion': path('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': path('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': path('involvedObject', 'fieldPath'),
    reason: path('reason'),
    reportingComponent: path('reportingComponent'),
    source: path('source', 'component'),
    type: path('type'),
  },
  Secret: { type: path('type') },
  Namespace: { 'status.phase': path('status', 'phase') },
  ReplicaSet: { 'status.replicas': path('status', 'replicas') },
};

export function fieldGettersFor(kind: string): FieldGetters {
  return { ...metadataFieldGetters, ...(fieldGettersByKind[kind] ?? {}) };
}

/** Checks every field is selectable for `kind`: the real server answers 400 otherwise. */
export function checkFieldSelector(kind: string, requirements: readonly FieldRequirement[]): Result<void, string> {
  const getters = fieldGettersFor(kind);
  const unknown = requirements.find((r) => !Object.hasOwn(getters, r.field));
  return unknown === undefined ? ok(undefined) : err(`field label not supported: ${unknown.field}`);
}

export function matchesFields(kind: string, requirements: readonly FieldRequirement[], object: JsonObject): boolean {
  const getters = fieldGettersFor(kind);
  return requirements.every((r) => {
    const get = getters[r.field];
    return get !== undefined && (get(object) === r.value) === r.equals;
  });
}

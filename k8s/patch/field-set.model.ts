// Sets of field paths, as structured-merge-diff keeps them for server-side apply, and their
// FieldsV1 encoding in `metadata.managedFields` (`f:<field>`, `k:{<keys>}`, `v:<value>`, `.`).

import { err, ok, type Result } from '../../kernel/index.js';
import { isJsonMap, type Json, type JsonMap } from './patch.json.js';

/**
 * A tree of path elements. `member` says the path to this node is itself in the set; FieldsV1
 * writes that as `".": {}` when the node also has children, and as `{}` when it is a leaf.
 */
export interface FieldSet {
  member: boolean;
  readonly children: Map<string, FieldSet>;
}

/** A path: path elements from the root, each already in FieldsV1 form (`f:spec`, `k:{"name":"a"}`). */
export type FieldPath = readonly string[];

export const emptyFieldSet = (): FieldSet => ({ member: false, children: new Map() });

export const fieldElement = (name: string): string => `f:${name}`;
export const valueElement = (value: Json): string => `v:${JSON.stringify(value)}`;

/** `k:` with the key fields sorted by name, as structured-merge-diff sorts a key's field list. */
export function keyElement(fields: Readonly<Record<string, Json>>): string {
  const sorted: JsonMap = {};
  for (const name of Object.keys(fields).sort()) sorted[name] = fields[name] as Json;
  return `k:${JSON.stringify(sorted)}`;
}

export function insertPath(set: FieldSet, path: FieldPath): void {
  let node = set;
  for (const element of path) {
    let child = node.children.get(element);
    if (child === undefined) {
      child = emptyFieldSet();
      node.children.set(element, child);
    }
    node = child;
  }
  node.member = true;
}

export function hasPath(set: FieldSet, path: FieldPath): boolean {
  let node: FieldSet | undefined = set;
  for (const element of path) node = node?.children.get(element);
  return node?.member === true;
}

export const isEmptyFieldSet = (set: FieldSet): boolean => !set.member && set.children.size === 0;

export function copyFieldSet(set: FieldSet): FieldSet {
  return { member: set.member, children: new Map([...set.children].map(([k, v]) => [k, copyFieldSet(v)])) };
}

export function unionFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  const out = copyFieldSet(a);
  out.member ||= b.member;
  for (const [k, child] of b.children) {
    const mine = out.children.get(k);
    out.children.set(k, mine === undefined ? copyFieldSet(child) : unionFieldSets(mine, child));
  }
  return out;
}

/** Members of `a` that are not members of `b` (exact paths, as structured-merge-diff's Difference). */
export function differenceFieldSets(a: FieldSet, b: FieldSet | undefined): FieldSet {
  const out: FieldSet = { member: a.member && b?.member !== true, children: new Map() };
  for (const [k, child] of a.children) {
    const rest = differenceFieldSets(child, b?.children.get(k));
    if (!isEmptyFieldSet(rest)) out.children.set(k, rest);
  }
  return out;
}

/** Members of both. */
export function intersectFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { member: a.member && b.member, children: new Map() };
  for (const [k, child] of a.children) {
    const other = b.children.get(k);
    if (other === undefined) continue;
    const both = intersectFieldSets(child, other);
    if (!isEmptyFieldSet(both)) out.children.set(k, both);
  }
  return out;
}

/** Every member path, in FieldsV1 order. */
export function memberPaths(set: FieldSet, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = set.member && prefix.length > 0 ? [prefix] : [];
  for (const k of sortedElements(set.children.keys())) out.push(...memberPaths(set.children.get(k) as FieldSet, [...prefix, k]));
  return out;
}

const elementRank = (e: string): number => ['f:', 'k:', 'v:', 'i:'].indexOf(e.slice(0, 2));

function compareJson(a: Json, b: Json): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (isJsonMap(a) && isJsonMap(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const byName = compareJson(ka[i] as string, kb[i] as string) || compareJson(a[ka[i] as string] as Json, b[kb[i] as string] as Json);
      if (byName !== 0) return byName;
    }
    return ka.length - kb.length;
  }
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Path elements in structured-merge-diff's order: fields by name, then keys and values by value. */
export function sortedElements(elements: Iterable<string>): string[] {
  return [...elements].sort((a, b) => {
    const byKind = elementRank(a) - elementRank(b);
    if (byKind !== 0) return byKind;
    if (a.startsWith('f:')) return a < b ? -1 : a > b ? 1 : 0;
    return compareJson(JSON.parse(a.slice(2)) as Json, JSON.parse(b.slice(2)) as Json);
  });
}

/** The FieldsV1 JSON of a set, e.g. `{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`. */
export function toFieldsV1(set: FieldSet): JsonMap {
  const out: JsonMap = {};
  if (set.member && set.children.size > 0) out['.'] = {};
  for (const k of sortedElements(set.children.keys())) out[k] = toFieldsV1(set.children.get(k) as FieldSet);
  return out;
}

/** Parses FieldsV1 JSON; a malformed entry is an error so the caller can drop that manager's entry. */
export function fromFieldsV1(json: Json | undefined, root = true): Result<FieldSet, string> {
  if (!isJsonMap(json)) return err('fieldsV1 is not an object');
  const set = emptyFieldSet();
  const keys = Object.keys(json);
  // `{}` below the root is a leaf member; at the root it is the empty set.
  set.member = !root && keys.length === 0;
  for (const k of keys) {
    if (k === '.') {
      set.member = true;
      continue;
    }
    if (!/^[fkvi]:/.test(k)) return err(`unknown path element ${k}`);
    const child = fromFieldsV1(json[k], false);
    if (!child.ok) return child;
    set.children.set(k, child.value);
  }
  return ok(set);
}

/** A path as kube-apiserver prints it in conflicts: `.spec.containers[name="nginx"].image`. */
export function formatFieldPath(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      if (element.startsWith('f:')) return `.${body}`;
      if (element.startsWith('v:')) return `[=${body}]`;
      if (element.startsWith('i:')) return `[${body}]`;
      const fields = JSON.parse(body) as JsonMap;
      return `[${Object.keys(fields).map((name) => `${name}=${JSON.stringify(fields[name])}`).join(',')}]`;
    })
    .join('');
}

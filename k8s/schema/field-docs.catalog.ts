// Upstream field and type descriptions, for OpenAPI documents that `kubectl explain` prints. They come from
// the JSDoc in client-node's generated model .d.ts files; where client-node's generator dropped a
// description (fields that reference another type, e.g. `Container.lifecycle`), kubernetes-models' .d.ts
// still has it. Each file is parsed once, on first use, and cached.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import { docsFileOfDefinition } from './kubernetes-models.catalog.js';
import { upstreamDefinitionName } from './upstream-names.mapping.js';

/** The descriptions found in one .d.ts: the type's own, and each field's by JSON name. */
export interface TypeDocs {
  readonly description: string | undefined;
  readonly fields: ReadonlyMap<string, string>;
}

// A JSDoc block followed by the declaration it documents: a class/interface, or a quoted property.
const DOC_BLOCK = /\/\*\*\n((?:[ \t]*\*.*\n)*?)[ \t]*\*\/\n[ \t]*(?:export (?:declare )?(?:class|interface|type) \w+|(['"])([^'"]+)\2\??:)/g;

/** The text of a JSDoc body: leading `*` stripped, blank `*` lines kept as paragraph breaks, escapes undone. */
export function jsDocText(body: string): string {
  const lines = body.split('\n').map((line) => line.replace(/^[ \t]*\* ?/, '').trimEnd());
  return lines
    .join('\n')
    .trim()
    .replace(/\\(.)/g, '$1');
}

/** Parses the JSDoc of a generated model or interface .d.ts; property names are kept as written. */
export function parseTypeDocs(source: string): { readonly description: string | undefined; readonly properties: ReadonlyMap<string, string> } {
  let description: string | undefined;
  const properties = new Map<string, string>();
  for (const match of source.matchAll(DOC_BLOCK)) {
    const text = jsDocText(match[1] ?? '');
    const property = match[3];
    if (property === undefined) description ??= text;
    else properties.set(property, text);
  }
  return { description, properties };
}

type AttributeMap = readonly { readonly name: string; readonly baseName: string }[];
const models = clientNode as unknown as Record<string, { attributeTypeMap?: AttributeMap } | undefined>;
const modelsDir = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'models');
const cache = new Map<string, TypeDocs>();
// client-node documents IntOrString-typed fields with the IntOrString type's description instead of
// the field's own; kubernetes-models has the field's.
const INT_OR_STRING_TYPE_DOC = 'IntOrString is a type that can hold';

const readIfPresent = (file: string | undefined): string | undefined => (file !== undefined && existsSync(file) ? readFileSync(file, 'utf8') : undefined);

function loadDocs(model: string): TypeDocs {
  const primary = parseTypeDocs(readIfPresent(join(modelsDir, `${model}.d.ts`)) ?? '');
  const upstream = upstreamDefinitionName(model);
  const fallback = parseTypeDocs(readIfPresent(upstream === undefined ? undefined : docsFileOfDefinition(upstream)) ?? '');
  // client-node documents TypeScript property names; the attribute map turns them into JSON names.
  const jsonNameOf = new Map((models[model]?.attributeTypeMap ?? []).map((a) => [a.name, a.baseName]));
  const fields = new Map<string, string>(fallback.properties);
  for (const [property, text] of primary.properties) {
    const field = jsonNameOf.get(property) ?? property;
    if (!text.startsWith(INT_OR_STRING_TYPE_DOC) || !fields.has(field)) fields.set(field, text);
  }
  return { description: primary.description ?? fallback.description, fields };
}

/** The descriptions of a client-node model (`V1Container`), empty when none are known. */
export function typeDocsOf(model: string): TypeDocs {
  const cached = cache.get(model);
  if (cached !== undefined) return cached;
  const docs = loadDocs(model);
  cache.set(model, docs);
  return docs;
}

/** The description of an upstream definition with no client-node model (IntOrString, Quantity, …). */
export function definitionDescriptionOf(upstreamName: string): string | undefined {
  return parseTypeDocs(readIfPresent(docsFileOfDefinition(upstreamName)) ?? '').description;
}

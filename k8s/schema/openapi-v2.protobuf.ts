// Encodes a swagger 2.0 JSON document as the gnostic `openapi.v2.Document` protobuf, which is the only
// form kubectl accepts from /openapi/v2 (client-go's OpenAPISchema() asks for
// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and proto-unmarshals the body).
// Field numbers follow github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto. Only the messages
// kubectl reads are encoded: info, paths (operations, parameters, responses), definitions (schemas)
// and vendor extensions, whose values travel as YAML text (JSON is YAML).
import type { JsonObject, JsonValue } from '../../kernel/index.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing buffer; nested messages are encoded first and added as bytes. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  private raw(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    return this;
  }

  private varintBytes(value: bigint): Uint8Array {
    const bytes: number[] = [];
    let rest = BigInt.asUintN(64, value);
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      bytes.push(rest === 0n ? low : low | 0x80);
    } while (rest !== 0n);
    return Uint8Array.from(bytes);
  }

  private tag(field: number, wire: number): this {
    return this.raw(this.varintBytes(BigInt((field << 3) | wire)));
  }

  /** An int64/uint64/bool field. */
  varint(field: number, value: number | bigint | boolean): this {
    const number = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    return this.tag(field, WIRE_VARINT).raw(this.varintBytes(number));
  }

  /** A double field. */
  double(field: number, value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.tag(field, WIRE_FIXED64).raw(bytes);
  }

  /** A length-delimited field: bytes or an already encoded message. */
  bytes(field: number, value: Uint8Array): this {
    return this.tag(field, WIRE_BYTES).raw(this.varintBytes(BigInt(value.length))).raw(value);
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A nested message, written by `build`. */
  message(field: number, build: (writer: ProtoWriter) => void): this {
    const nested = new ProtoWriter();
    build(nested);
    return this.bytes(field, nested.finish());
  }

  finish(): Uint8Array {
    const total = this.chunks.reduce((sum, c) => sum + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

const isObject = (value: JsonValue | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const asList = (value: JsonValue | undefined): readonly JsonValue[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const str = (w: ProtoWriter, field: number, value: JsonValue | undefined): void => void (typeof value === 'string' && value !== '' && w.string(field, value));
const bool = (w: ProtoWriter, field: number, value: JsonValue | undefined): void => void (value === true && w.varint(field, true));
const int = (w: ProtoWriter, field: number, value: JsonValue | undefined): void => void (typeof value === 'number' && Number.isInteger(value) && w.varint(field, value));
const dbl = (w: ProtoWriter, field: number, value: JsonValue | undefined): void => void (typeof value === 'number' && w.double(field, value));

/** `Any`: only its YAML text (field 2). */
const writeAny = (w: ProtoWriter, field: number, value: JsonValue): void => void w.message(field, (a) => a.string(2, JSON.stringify(value)));

/** `repeated NamedAny vendor_extension`: every `x-` key. */
function writeExtensions(w: ProtoWriter, field: number, object: JsonObject): void {
  for (const [name, value] of Object.entries(object)) {
    if (name.startsWith('x-')) w.message(field, (n) => void n.string(1, name).message(2, (a) => void a.string(2, JSON.stringify(value))));
  }
}

/** `Schema`. */
export function writeSchema(w: ProtoWriter, s: JsonObject): void {
  str(w, 1, s['$ref']);
  str(w, 2, s['format']);
  str(w, 3, s['title']);
  str(w, 4, s['description']);
  if (s['default'] !== undefined) writeAny(w, 5, s['default']);
  dbl(w, 6, s['multipleOf']);
  dbl(w, 7, s['maximum']);
  bool(w, 8, s['exclusiveMaximum']);
  dbl(w, 9, s['minimum']);
  bool(w, 10, s['exclusiveMinimum']);
  int(w, 11, s['maxLength']);
  int(w, 12, s['minLength']);
  str(w, 13, s['pattern']);
  int(w, 14, s['maxItems']);
  int(w, 15, s['minItems']);
  bool(w, 16, s['uniqueItems']);
  int(w, 17, s['maxProperties']);
  int(w, 18, s['minProperties']);
  for (const name of asList(s['required'])) str(w, 19, name);
  for (const value of asList(s['enum'])) writeAny(w, 20, value);
  writeAdditionalProperties(w, s['additionalProperties']);
  if (s['type'] !== undefined) w.message(22, (t) => asList(s['type']).forEach((type) => str(t, 1, type)));
  if (s['items'] !== undefined) w.message(23, (items) => asList(s['items']).filter(isObject).forEach((item) => items.message(1, (i) => writeSchema(i, item))));
  for (const part of asList(s['allOf']).filter(isObject)) w.message(24, (p) => writeSchema(p, part));
  const properties = s['properties'];
  if (isObject(properties)) {
    w.message(25, (p) => {
      for (const [name, value] of Object.entries(properties)) if (isObject(value)) p.message(1, (n) => void n.string(1, name).message(2, (v) => writeSchema(v, value)));
    });
  }
  bool(w, 27, s['readOnly']);
  if (s['example'] !== undefined) writeAny(w, 30, s['example']);
  writeExtensions(w, 31, s);
}

function writeAdditionalProperties(w: ProtoWriter, value: JsonValue | undefined): void {
  if (isObject(value)) w.message(21, (a) => void a.message(1, (s) => writeSchema(s, value)));
  else if (typeof value === 'boolean') w.message(21, (a) => void a.varint(2, value));
}

/** `ParametersItem` → `Parameter` → body or (query/path) non-body parameter. */
function writeParameter(w: ProtoWriter, p: JsonObject): void {
  w.message(1, (parameter) => {
    if (p['in'] === 'body') {
      parameter.message(1, (b) => {
        str(b, 1, p['description']);
        str(b, 2, p['name']);
        str(b, 3, p['in']);
        bool(b, 4, p['required']);
        if (isObject(p['schema'])) b.message(5, (s) => writeSchema(s, p['schema'] as JsonObject));
      });
      return;
    }
    // Query sub-schemas number type at 6 and uniqueItems at 20; path sub-schemas at 5 and 19.
    const [which, typeField, uniqueField] = p['in'] === 'path' ? [4, 5, 19] : [3, 6, 20];
    parameter.message(2, (nonBody) =>
      void nonBody.message(which, (q) => {
        bool(q, 1, p['required']);
        str(q, 2, p['in']);
        str(q, 3, p['description']);
        str(q, 4, p['name']);
        str(q, typeField, p['type']);
        bool(q, uniqueField, p['uniqueItems']);
      }),
    );
  });
}

function writeOperation(w: ProtoWriter, op: JsonObject): void {
  for (const tag of asList(op['tags'])) str(w, 1, tag);
  str(w, 2, op['summary']);
  str(w, 3, op['description']);
  str(w, 5, op['operationId']);
  for (const type of asList(op['produces'])) str(w, 6, type);
  for (const type of asList(op['consumes'])) str(w, 7, type);
  for (const parameter of asList(op['parameters']).filter(isObject)) w.message(8, (p) => writeParameter(p, parameter));
  const responses = op['responses'];
  if (isObject(responses)) {
    w.message(9, (r) => {
      for (const [code, response] of Object.entries(responses)) {
        if (!isObject(response)) continue;
        r.message(1, (named) =>
          void named.string(1, code).message(2, (value) =>
            void value.message(1, (resp) => {
              str(resp, 1, response['description']);
              if (isObject(response['schema'])) resp.message(2, (item) => void item.message(1, (s) => writeSchema(s, response['schema'] as JsonObject)));
            }),
          ),
        );
      }
    });
  }
  writeExtensions(w, 13, op);
}

const OPERATION_FIELDS: Readonly<Record<string, number>> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function writePathItem(w: ProtoWriter, item: JsonObject): void {
  for (const [method, field] of Object.entries(OPERATION_FIELDS)) {
    const op = item[method];
    if (isObject(op)) w.message(field, (o) => writeOperation(o, op));
  }
  for (const parameter of asList(item['parameters']).filter(isObject)) w.message(9, (p) => writeParameter(p, parameter));
  writeExtensions(w, 10, item);
}

/** The protobuf bytes of a swagger 2.0 document, for /openapi/v2. */
export function encodeOpenApiV2Protobuf(document: JsonObject): Uint8Array {
  const w = new ProtoWriter();
  str(w, 1, document['swagger']);
  const info = document['info'];
  if (isObject(info)) {
    w.message(2, (i) => {
      str(i, 1, info['title']);
      str(i, 2, info['version']);
      str(i, 3, info['description']);
    });
  }
  const paths = document['paths'];
  if (isObject(paths)) {
    w.message(8, (p) => {
      for (const [path, item] of Object.entries(paths)) if (isObject(item)) p.message(2, (named) => void named.string(1, path).message(2, (v) => writePathItem(v, item)));
    });
  }
  const definitions = document['definitions'];
  if (isObject(definitions)) {
    w.message(9, (d) => {
      for (const [name, schema] of Object.entries(definitions)) if (isObject(schema)) d.message(1, (named) => void named.string(1, name).message(2, (v) => writeSchema(v, schema)));
    });
  }
  writeExtensions(w, 16, document);
  return w.finish();
}

// Protobuf request bodies (`application/vnd.kubernetes.protobuf`), for the objects kubectl's
// generator commands send that way (`kubectl create configmap|secret|namespace|deployment`,
// kubectl ≥ 1.30). The envelope is runtime.Unknown behind the `k8s\0` magic; the object inside is
// decoded with the field numbers of k8s.io/api's generated.proto (v1.32) for those kinds only.
// A field this decoder does not know, carrying a non-empty value, refuses the body (415) rather
// than dropping data silently.
import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'quantity' | 'intOrString';
interface FieldSpec {
  readonly name: string;
  readonly type: Scalar | Schema;
  readonly repeated?: boolean;
  /** map<string, value>: entries are messages {1: key, 2: value}. */
  readonly mapOf?: Scalar | Schema;
  /** A Go pointer field: present means set, even to 0 or false (`replicas: 0`). */
  readonly pointer?: boolean;
}
type Schema = { readonly [field: number]: FieldSpec };

const objectMeta: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: 'string', mapOf: 'string' },
  12: { name: 'annotations', type: 'string', mapOf: 'string' },
  14: { name: 'finalizers', type: 'string', repeated: true },
};
const labelSelector: Schema = {
  1: { name: 'matchLabels', type: 'string', mapOf: 'string' },
  2: { name: 'matchExpressions', type: { 1: { name: 'key', type: 'string' }, 2: { name: 'operator', type: 'string' }, 3: { name: 'values', type: 'string', repeated: true } }, repeated: true },
};
const container: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'image', type: 'string' },
  3: { name: 'command', type: 'string', repeated: true },
  4: { name: 'args', type: 'string', repeated: true },
  5: { name: 'workingDir', type: 'string' },
  6: { name: 'ports', type: { 1: { name: 'name', type: 'string' }, 2: { name: 'hostPort', type: 'int' }, 3: { name: 'containerPort', type: 'int' }, 4: { name: 'protocol', type: 'string' }, 5: { name: 'hostIP', type: 'string' } }, repeated: true },
  7: { name: 'env', type: { 1: { name: 'name', type: 'string' }, 2: { name: 'value', type: 'string' } }, repeated: true },
  8: { name: 'resources', type: { 1: { name: 'limits', type: 'string', mapOf: 'quantity' }, 2: { name: 'requests', type: 'string', mapOf: 'quantity' } } },
  13: { name: 'terminationMessagePath', type: 'string' },
  14: { name: 'imagePullPolicy', type: 'string' },
  20: { name: 'terminationMessagePolicy', type: 'string' },
};
const podSpec: Schema = {
  2: { name: 'containers', type: container, repeated: true },
  3: { name: 'restartPolicy', type: 'string' },
  4: { name: 'terminationGracePeriodSeconds', type: 'int', pointer: true },
  6: { name: 'dnsPolicy', type: 'string' },
  7: { name: 'nodeSelector', type: 'string', mapOf: 'string' },
  8: { name: 'serviceAccountName', type: 'string' },
  10: { name: 'nodeName', type: 'string' },
  19: { name: 'schedulerName', type: 'string' },
  20: { name: 'initContainers', type: container, repeated: true },
};
const deploymentSpec: Schema = {
  1: { name: 'replicas', type: 'int', pointer: true },
  2: { name: 'selector', type: labelSelector },
  3: { name: 'template', type: { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'spec', type: podSpec } } },
  4: { name: 'strategy', type: { 1: { name: 'type', type: 'string' }, 2: { name: 'rollingUpdate', type: { 1: { name: 'maxUnavailable', type: 'intOrString' }, 2: { name: 'maxSurge', type: 'intOrString' } } } } },
  5: { name: 'minReadySeconds', type: 'int' },
  6: { name: 'revisionHistoryLimit', type: 'int', pointer: true },
  7: { name: 'paused', type: 'bool' },
  9: { name: 'progressDeadlineSeconds', type: 'int', pointer: true },
};
const emptyStatus: Schema = {};

const schemasByKind: Readonly<Record<string, Schema>> = {
  ConfigMap: { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'data', type: 'string', mapOf: 'string' }, 3: { name: 'binaryData', type: 'string', mapOf: 'bytes' }, 4: { name: 'immutable', type: 'bool', pointer: true } },
  Secret: { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'data', type: 'string', mapOf: 'bytes' }, 3: { name: 'type', type: 'string' }, 4: { name: 'stringData', type: 'string', mapOf: 'string' }, 5: { name: 'immutable', type: 'bool', pointer: true } },
  Namespace: { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } }, 3: { name: 'status', type: emptyStatus } },
  Deployment: { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'spec', type: deploymentSpec }, 3: { name: 'status', type: emptyStatus } },
};

/** Kinds a protobuf body may carry here. */
export const protobufKinds = Object.keys(schemasByKind);

interface RawField {
  readonly number: number;
  readonly wire: number;
  readonly varint?: bigint;
  readonly bytes?: Buffer;
}

class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.#at >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#at >= this.buf.length) throw new Error('truncated varint');
      const byte = this.buf[this.#at++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('varint too long');
  }
  bytes(length: number): Buffer {
    if (this.#at + length > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }
  field(): RawField {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    switch (wire) {
      case 0:
        return { number, wire, varint: this.varint() };
      case 2:
        return { number, wire, bytes: this.bytes(Number(this.varint())) };
      case 1:
        return { number, wire, bytes: this.bytes(8) };
      case 5:
        return { number, wire, bytes: this.bytes(4) };
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

const fieldsOf = (buf: Buffer): RawField[] => {
  const reader = new Reader(buf);
  const out: RawField[] = [];
  while (!reader.done) out.push(reader.field());
  return out;
};

const isEmpty = (f: RawField): boolean => (f.varint !== undefined ? f.varint === 0n : (f.bytes?.length ?? 0) === 0);

function scalar(type: Scalar, f: RawField, path: string): JsonValue {
  switch (type) {
    case 'string':
      return (f.bytes ?? Buffer.alloc(0)).toString('utf8');
    case 'bytes':
      return (f.bytes ?? Buffer.alloc(0)).toString('base64');
    case 'int':
      return Number(BigInt.asIntN(64, f.varint ?? 0n));
    case 'bool':
      return (f.varint ?? 0n) !== 0n;
    case 'time': {
      const t = message({ 1: { name: 'seconds', type: 'int' }, 2: { name: 'nanos', type: 'int' } }, f.bytes ?? Buffer.alloc(0), path) as { seconds?: number };
      return t.seconds === undefined ? null : new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'quantity':
      return (message({ 1: { name: 'string', type: 'string' } }, f.bytes ?? Buffer.alloc(0), path) as { string?: string }).string ?? '';
    case 'intOrString': {
      const v = message({ 1: { name: 'type', type: 'int' }, 2: { name: 'intVal', type: 'int' }, 3: { name: 'strVal', type: 'string' } }, f.bytes ?? Buffer.alloc(0), path) as { type?: number; intVal?: number; strVal?: string };
      return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
  }
}

function value(type: Scalar | Schema, f: RawField, path: string): JsonValue {
  return typeof type === 'string' ? scalar(type, f, path) : message(type, f.bytes ?? Buffer.alloc(0), path);
}

/** Decodes one message; proto3-style zero values are left out, as Go's JSON omitempty would. */
function message(schema: Schema, buf: Buffer, path: string): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const f of fieldsOf(buf)) {
    const spec = schema[f.number];
    if (spec === undefined) {
      if (isEmpty(f)) continue;
      throw new Error(`field ${path}#${f.number} is not understood by this server`);
    }
    const at = `${path}.${spec.name}`;
    if (spec.mapOf !== undefined) {
      const entry = message({ 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: spec.mapOf } }, f.bytes ?? Buffer.alloc(0), at) as { key?: string; value?: JsonValue };
      const map = (out[spec.name] ?? {}) as Record<string, JsonValue>;
      map[entry.key ?? ''] = entry.value ?? (spec.mapOf === 'string' || spec.mapOf === 'bytes' || spec.mapOf === 'quantity' ? '' : {});
      out[spec.name] = map;
    } else if (spec.repeated === true) {
      out[spec.name] = [...((out[spec.name] ?? []) as JsonValue[]), value(spec.type, f, at)];
    } else {
      const decoded = value(spec.type, f, at);
      if (spec.pointer !== true && (decoded === null || decoded === '' || decoded === 0 || decoded === false)) continue;
      out[spec.name] = decoded;
    }
  }
  return out;
}

/** The object in a protobuf body, as the JSON the rest of the server handles. */
export function decodeProtobufBody(body: Buffer): Result<JsonObject, string> {
  const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) return err('the body is not a Kubernetes protobuf envelope (no k8s\\0 magic)');
  try {
    const envelope = message(
      { 1: { name: 'typeMeta', type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } }, 2: { name: 'raw', type: 'bytes' }, 3: { name: 'contentEncoding', type: 'string' }, 4: { name: 'contentType', type: 'string' } },
      body.subarray(4),
      '',
    ) as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string; contentEncoding?: string };
    const kind = envelope.typeMeta?.kind ?? '';
    const schema = schemasByKind[kind];
    if (schema === undefined) return err(`protobuf bodies are accepted for ${protobufKinds.join(', ')}; send ${kind === '' ? 'this object' : kind} as JSON (kubectl create -f / apply -f)`);
    if ((envelope.contentEncoding ?? '') !== '') return err(`protobuf content encoding ${envelope.contentEncoding ?? ''} is not supported`);
    const object = message(schema, Buffer.from(envelope.raw ?? '', 'base64'), kind);
    return ok({ apiVersion: envelope.typeMeta?.apiVersion ?? 'v1', kind, ...object });
  } catch (error) {
    return err(`cannot decode the protobuf body: ${(error as Error).message}`);
  }
}

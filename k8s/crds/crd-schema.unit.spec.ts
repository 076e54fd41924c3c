// Method: each `describe` is a given CRD schema (built from small spec schemas), each `it` a
// "when … then …" about one function, asserting kube-apiserver's exact wording via the
// `field: message` lines kubectl prints. Objects are frozen so purity is checked as well.
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { compileCrdSchema, formatFieldError, goQuote, unknownFieldMessage, type CrdSchema } from './crd-schema.js';

const rootSchema = (spec: JsonObject, extra: JsonObject = {}): JsonObject => ({
  type: 'object',
  properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec, ...extra },
});

const givenSpec = (spec: JsonObject): CrdSchema => {
  const compiled = compileCrdSchema(rootSchema(spec));
  if (!compiled.ok) throw new Error(`test schema does not compile: ${compiled.error}`);
  return compiled.value;
};

const objectSpec = (properties: JsonObject, extra: JsonObject = {}): JsonObject => ({ type: 'object', properties, ...extra });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

const resource = (spec: JsonValue, extra: JsonObject = {}): JsonObject =>
  deepFreeze({ apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w', labels: { app: 'w' } }, spec, ...extra });

const errorLines = (schema: CrdSchema, object: JsonValue): readonly string[] => schema.validate(object).map(formatFieldError);

describe('compileCrdSchema', () => {
  it('when the schema is structural, then it compiles', () => {
    expect(compileCrdSchema(rootSchema(objectSpec({ replicas: { type: 'integer' } }))).ok).toBe(true);
  });

  it('when the root is not an object schema, then it is refused with upstream CRD wording', () => {
    expect(compileCrdSchema({ type: 'string' })).toEqual({
      ok: false,
      error: 'openAPIV3Schema.type: Invalid value: "string": must be object at the root',
    });
  });

  it('when a field has no type, then it is refused as not structural', () => {
    expect(compileCrdSchema(rootSchema(objectSpec({ size: { minimum: 1 } })))).toEqual({
      ok: false,
      error: 'openAPIV3Schema.properties[spec].properties[size].type: Required value: must not be empty for specified object fields',
    });
  });

  it('when an array has no items, then it is refused', () => {
    const compiled = compileCrdSchema(rootSchema(objectSpec({ tags: { type: 'array' } })));
    expect(compiled).toEqual({ ok: false, error: 'openAPIV3Schema.properties[spec].properties[tags].items: Required value: must be specified' });
  });

  it('when a list-type is unknown or a list-map key can be absent, then both are named', () => {
    const compiled = compileCrdSchema(
      rootSchema(
        objectSpec({
          a: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'bag' },
          b: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: objectSpec({ name: { type: 'string' } }) },
        }),
      ),
    );
    expect(compiled).toEqual({
      ok: false,
      error: [
        'openAPIV3Schema.properties[spec].properties[a].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "map", "set"',
        'openAPIV3Schema.properties[spec].properties[b].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property',
      ].join('; '),
    });
  });

  it('when a pattern is not a regular expression, then compiling fails instead of throwing', () => {
    const compiled = compileCrdSchema(rootSchema(objectSpec({ name: { type: 'string', pattern: '([a-z' } })));
    expect(compiled.ok).toBe(false);
    expect(compiled.ok ? '' : compiled.error).toMatch(/^openAPIV3Schema: Invalid value: .*Invalid regular expression/);
  });

  it('when a schema nests deeper than schemaDepthMax, then it is refused rather than walked', () => {
    let deep: JsonObject = { type: 'string' };
    for (let level = 0; level < 70; level += 1) deep = objectSpec({ inner: deep });
    const compiled = compileCrdSchema(rootSchema(deep));
    expect(compiled.ok ? '' : compiled.error).toMatch(/: Forbidden: nested deeper than 64 levels/);
  });

  it('when the same schema object is compiled twice, then the compiled schema is reused', () => {
    const schema = rootSchema(objectSpec({ replicas: { type: 'integer' } }));
    const first = compileCrdSchema(schema);
    const again = compileCrdSchema(schema);
    const sameText = compileCrdSchema(JSON.parse(JSON.stringify(schema)) as JsonObject);
    expect(first.ok && again.ok && sameText.ok).toBe(true);
    expect(again.ok ? again.value : undefined).toBe(first.ok ? first.value : null);
    expect(sameText.ok ? sameText.value : undefined).toBe(first.ok ? first.value : null);
  });

  it('when two schemas differ, then each gets its own compiled schema', () => {
    const integer = compileCrdSchema(rootSchema(objectSpec({ size: { type: 'integer' } })));
    const text = compileCrdSchema(rootSchema(objectSpec({ size: { type: 'string' } })));
    expect(integer.ok && text.ok && integer.value !== text.value).toBe(true);
  });
});

describe('given a spec with typed scalar fields', () => {
  const schema = givenSpec(
    objectSpec({
      foo: { type: 'integer' },
      ratio: { type: 'number' },
      enabled: { type: 'boolean' },
      note: { type: 'string', nullable: true },
      name: { type: 'string' },
    }),
  );

  it('when every field has its type, then validate returns no errors', () => {
    expect(schema.validate(resource({ foo: 3, ratio: 0.5, enabled: true, note: null, name: 'x' }))).toEqual([]);
  });

  it('when an integer field holds a string, then the error is TypeInvalid worded as kube-apiserver words it', () => {
    expect(schema.validate(resource({ foo: 'string' }))).toEqual([
      {
        field: 'spec.foo',
        type: 'FieldValueTypeInvalid',
        message: 'Invalid value: "string": spec.foo in body must be of type integer: "string"',
      },
    ]);
  });

  it('when an integer field holds a fraction, then its type is reported as number', () => {
    expect(errorLines(schema, resource({ foo: 1.5 }))).toEqual(['spec.foo: Invalid value: "number": spec.foo in body must be of type integer: "number"']);
  });

  it('when a number field holds an integer, then it is accepted', () => {
    expect(schema.validate(resource({ ratio: 2 }))).toEqual([]);
  });

  it('when a non-nullable field is null, then its type is reported as null; a nullable one accepts null', () => {
    expect(errorLines(schema, resource({ name: null, note: null }))).toEqual(['spec.name: Invalid value: "null": spec.name in body must be of type string: "null"']);
  });

  it('when a string field holds an object, then the object is reported by its JSON type', () => {
    expect(errorLines(schema, resource({ name: { first: 'a' } }))).toEqual(['spec.name: Invalid value: "object": spec.name in body must be of type string: "object"']);
  });

  it('when the root metadata is malformed, then validate leaves it to the server', () => {
    expect(schema.validate(resource({}, { metadata: 'not an object' }))).toEqual([]);
  });
});

describe('given a spec with required fields inside a list', () => {
  const schema = givenSpec(
    objectSpec(
      { properties: { type: 'array', items: objectSpec({ name: { type: 'string' }, value: { type: 'string' } }, { required: ['name'] }) } },
      { required: ['properties'] },
    ),
  );

  it('when an item lacks the field, then the error names the item by index', () => {
    expect(schema.validate(resource({ properties: [{ value: 'a' }] }))).toEqual([{ field: 'spec.properties[0].name', type: 'FieldValueRequired', message: 'Required value' }]);
  });

  it('when the list itself is missing, then the list is required', () => {
    expect(errorLines(schema, resource({}))).toEqual(['spec.properties: Required value']);
  });
});

describe('given a spec with value validations', () => {
  const schema = givenSpec(
    objectSpec({
      x: { type: 'string', enum: ['a', 'b'] },
      level: { type: 'integer', enum: [1, 2] },
      name: { type: 'string', pattern: '^[a-z]+$', minLength: 2, maxLength: 5 },
      replicas: { type: 'integer', minimum: 1, maximum: 10 },
      load: { type: 'number', maximum: 1000000, exclusiveMaximum: true },
      step: { type: 'integer', multipleOf: 5 },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
      at: { type: 'string', format: 'date-time' },
      id: { type: 'string', format: 'uuid' },
      count: { type: 'integer', format: 'int64' },
      shortName: { type: 'string', format: 'k8s-short-name-unknown-here' },
    }),
  );

  it('when a string is outside its enum, then the supported values are listed quoted', () => {
    expect(schema.validate(resource({ x: 'y' }))).toEqual([
      { field: 'spec.x', type: 'FieldValueNotSupported', message: 'Unsupported value: "y": supported values: "a", "b"' },
    ]);
  });

  it('when an integer is outside its enum, then the value is bare and the supported values quoted', () => {
    expect(errorLines(schema, resource({ level: 3 }))).toEqual(['spec.level: Unsupported value: 3: supported values: "1", "2"']);
  });

  it('when a string misses its pattern, then the pattern is quoted as written', () => {
    expect(errorLines(schema, resource({ name: 'Bad' }))).toEqual(["spec.name: Invalid value: \"Bad\": spec.name in body should match '^[a-z]+$'"]);
  });

  it('when a string is too short or too long, then Invalid and TooLong are reported', () => {
    expect(errorLines(schema, resource({ name: 'a' }))).toEqual(['spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long']);
    expect(schema.validate(resource({ name: 'abcdef' }))).toEqual([{ field: 'spec.name', type: 'FieldValueTooLong', message: 'Too long: may not be more than 5 bytes' }]);
  });

  it('when an integer is out of range, then the bound is printed as an integer', () => {
    expect(errorLines(schema, resource({ replicas: 11 }))).toEqual(['spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10']);
    expect(errorLines(schema, resource({ replicas: 0 }))).toEqual(['spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1']);
  });

  it('when a fraction reaches an exclusive maximum, then Go prints the float bound in exponent form', () => {
    expect(errorLines(schema, resource({ load: 1000000.5 }))).toEqual(['spec.load: Invalid value: 1.0000005e+06: spec.load in body should be less than 1e+06']);
  });

  it('when an integer is not a multiple of its factor, then the factor is named', () => {
    expect(errorLines(schema, resource({ step: 7 }))).toEqual(['spec.step: Invalid value: 7: spec.step in body should be a multiple of 5']);
  });

  it('when a list has too few or too many items, then Invalid and TooMany are reported', () => {
    expect(errorLines(schema, resource({ tags: [] }))).toEqual(['spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items']);
    expect(schema.validate(resource({ tags: ['a', 'b', 'c'] }))).toEqual([{ field: 'spec.tags', type: 'FieldValueTooMany', message: 'Too many: 3: must have at most 2 items' }]);
  });

  it('when a string breaks a supported format, then the format is reported as the expected type', () => {
    expect(schema.validate(resource({ at: '2024-05-29T16:26:40Z', id: '0f8fad5b-d9cb-469f-a165-70867728950e' }))).toEqual([]);
    expect(errorLines(schema, resource({ at: 'yesterday' }))).toEqual(['spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"']);
    expect(errorLines(schema, resource({ id: 'not-a-uuid' }))).toEqual(['spec.id: Invalid value: "not-a-uuid": spec.id in body must be of type uuid: "not-a-uuid"']);
  });

  it('when a format is one upstream does not check, then any value of the type passes', () => {
    expect(schema.validate(resource({ count: 12, shortName: 'Anything At All' }))).toEqual([]);
  });
});

describe('given an x-kubernetes-int-or-string field', () => {
  const schema = givenSpec(objectSpec({ port: { 'x-kubernetes-int-or-string': true } }));

  it('when it holds an integer or a string, then both are accepted', () => {
    expect(schema.validate(resource({ port: 8080 }))).toEqual([]);
    expect(schema.validate(resource({ port: 'http' }))).toEqual([]);
  });

  it('when it holds anything else, then both accepted types are named', () => {
    expect(errorLines(schema, resource({ port: true }))).toEqual(['spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"']);
    expect(errorLines(schema, resource({ port: 80.5 }))).toEqual(['spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"']);
  });
});

describe('given a spec that preserves unknown fields in one subtree', () => {
  const schema = givenSpec(
    objectSpec({
      config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { mode: { type: 'string' }, limits: objectSpec({ cpu: { type: 'string' } }) } },
      name: { type: 'string' },
    }),
  );
  const object = resource({ name: 'a', extra: 1, config: { mode: 'fast', anything: { deep: [1, 2] }, limits: { cpu: '1', gpu: 2 } } });

  it('when undeclared fields sit in the preserved subtree, then only the others are unknown', () => {
    expect(schema.unknownFields(object)).toEqual(['.spec.extra', '.spec.config.limits.gpu']);
  });

  it('when unknown fields are reported, then strict validation words them as kube-apiserver does', () => {
    expect(schema.unknownFields(object).map(unknownFieldMessage)).toEqual(['unknown field "spec.extra"', 'unknown field "spec.config.limits.gpu"']);
  });

  it('when pruned, then the preserved subtree keeps its undeclared fields and declared children are still pruned', () => {
    expect(schema.prune(object)).toEqual({ ...object, spec: { name: 'a', config: { mode: 'fast', anything: { deep: [1, 2] }, limits: { cpu: '1' } } } });
  });

  it('when a declared field in the preserved subtree has the wrong type, then it is still validated', () => {
    expect(errorLines(schema, resource({ config: { mode: 3 } }))).toEqual(['spec.config.mode: Invalid value: "integer": spec.config.mode in body must be of type string: "integer"']);
  });
});

describe('given a spec with a string map (additionalProperties)', () => {
  const schema = givenSpec(objectSpec({ labels: { type: 'object', additionalProperties: { type: 'string' } } }));

  it('when the map has arbitrary keys, then none of them is unknown', () => {
    expect(schema.unknownFields(resource({ labels: { app: 'x', tier: 'y' } }))).toEqual([]);
  });

  it('when a map value has the wrong type, then the key is a dotted path segment', () => {
    expect(errorLines(schema, resource({ labels: { app: 7 } }))).toEqual(['spec.labels.app: Invalid value: "integer": spec.labels.app in body must be of type string: "integer"']);
  });
});

describe('given unknown fields at several depths', () => {
  const schema = givenSpec(objectSpec({ properties: { type: 'array', items: objectSpec({ name: { type: 'string' } }) } }));
  const object = resource({ foo: 1, properties: [{ name: 'a' }, { name: 'b', bar: { x: 1 } }] }, { status: { phase: 'x' } });

  it('when asked for unknown fields, then root meta is always known and each unknown field is named once', () => {
    expect(schema.unknownFields(object)).toEqual(['.spec.foo', '.spec.properties[1].bar', '.status']);
  });

  it('when pruned, then exactly those fields are gone and the input is untouched', () => {
    expect(schema.prune(object)).toEqual({
      apiVersion: 'example.io/v1',
      kind: 'Widget',
      metadata: { name: 'w', labels: { app: 'w' } },
      spec: { properties: [{ name: 'a' }, { name: 'b' }] },
    });
    expect(object['status']).toEqual({ phase: 'x' });
  });
});

describe('given a spec with nulls in different kinds of field', () => {
  const schema = givenSpec(
    objectSpec({
      plain: { type: 'string' },
      optional: { type: 'string', nullable: true },
      defaulted: { type: 'string', default: 'd' },
    }),
  );

  it('when pruned, then a null the schema neither allows nor defaults is removed', () => {
    expect(schema.prune(resource({ plain: null, optional: null, defaulted: null }))).toMatchObject({ spec: { optional: null, defaulted: null } });
    expect(schema.prune(resource({ plain: null }))).toMatchObject({ spec: {} });
  });

  it('when defaulted after pruning, then the defaulted null takes its default', () => {
    const stored = schema.applyDefaults(schema.prune(resource({ plain: null, optional: null, defaulted: null })));
    expect(stored).toMatchObject({ spec: { optional: null, defaulted: 'd' } });
  });
});

describe('given a spec with defaults at several depths', () => {
  const schema = givenSpec(
    objectSpec({
      replicas: { type: 'integer', default: 1 },
      strategy: { type: 'object', default: {}, properties: { type: { type: 'string', default: 'RollingUpdate' }, maxSurge: { 'x-kubernetes-int-or-string': true, default: '25%' } } },
      ports: { type: 'array', items: objectSpec({ port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } }) },
      limits: { type: 'object', additionalProperties: objectSpec({ unit: { type: 'string', default: 'm' } }) },
      note: { type: 'string', nullable: true, default: 'n' },
    }),
  );

  it('when fields are missing, then defaults apply, and defaults inside a default apply too', () => {
    expect(schema.applyDefaults(resource({ ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }], limits: { cpu: {} } }))).toMatchObject({
      spec: {
        replicas: 1,
        strategy: { type: 'RollingUpdate', maxSurge: '25%' },
        ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }],
        limits: { cpu: { unit: 'm' } },
        note: 'n',
      },
    });
  });

  it('when a field is set, then its default does not replace it; a null only on a non-nullable field', () => {
    const defaulted = schema.applyDefaults(resource({ replicas: 3, strategy: null, note: null }));
    expect(defaulted).toMatchObject({ spec: { replicas: 3, strategy: { type: 'RollingUpdate', maxSurge: '25%' }, note: null } });
  });

  it('when applied, then the argument is left unchanged', () => {
    const object = resource({});
    schema.applyDefaults(object);
    expect(object['spec']).toEqual({});
  });
});

describe('given list-type set and map lists', () => {
  const schema = givenSpec(
    objectSpec({
      tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      ports: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: objectSpec({ name: { type: 'string' }, port: { type: 'integer' } }, { required: ['name'] }),
      },
      routes: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['port', 'protocol'],
        items: objectSpec({ port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } }, { required: ['port'] }),
      },
      groups: { type: 'array', items: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' } },
    }),
  );

  it('when every item and key is unique, then there are no errors', () => {
    expect(schema.validate(resource({ tags: ['a', 'b'], ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }))).toEqual([]);
  });

  it('when a set repeats a value three times, then only its second appearance is a duplicate', () => {
    expect(schema.validate(resource({ tags: ['a', 'b', 'a', 'a'] }))).toEqual([{ field: 'spec.tags[2]', type: 'FieldValueDuplicate', message: 'Duplicate value: "a"' }]);
  });

  it('when a map list repeats a key, then the duplicate is printed as a Go map of the key', () => {
    expect(errorLines(schema, resource({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 8080 }] }))).toEqual([
      'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}',
    ]);
  });

  it('when a map list repeats a compound key, then all key fields are printed, sorted', () => {
    expect(errorLines(schema, resource({ routes: [{ port: 80, protocol: 'TCP' }, { protocol: 'TCP', port: 80 }, { port: 80, protocol: 'UDP' }] }))).toEqual([
      'spec.routes[1]: Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}',
    ]);
  });

  it('when a map list holds a non-object, then that item is refused before keys are compared', () => {
    expect(errorLines(schema, resource({ ports: [{ name: 'a' }, 'b', { name: 'a' }] }))).toContain('spec.ports[1]: Invalid value: "b": must be an object for an array of list-type map');
  });

  it('when sets nest inside a list, then the inner duplicates are found by index', () => {
    expect(errorLines(schema, resource({ groups: [['x'], ['y', 'y']] }))).toEqual(['spec.groups[1][1]: Duplicate value: "y"']);
  });
});

describe('given a spec with an embedded resource', () => {
  const schema = givenSpec(
    objectSpec({
      template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true, properties: { spec: objectSpec({ image: { type: 'string' } }) } },
    }),
  );

  it('when the embedded object is complete, then it validates and its meta is known', () => {
    const object = resource({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: { image: 'nginx' } } });
    expect(schema.validate(object)).toEqual([]);
    expect(schema.unknownFields(object)).toEqual([]);
  });

  it('when apiVersion and kind are missing, then both are required with upstream detail', () => {
    expect(errorLines(schema, resource({ template: { spec: {} } }))).toEqual([
      'spec.template.apiVersion: Required value: must not be empty',
      'spec.template.kind: Required value: must not be empty',
    ]);
  });

  it('when apiVersion or kind is malformed, then they are refused as upstream refuses them', () => {
    expect(errorLines(schema, resource({ template: { apiVersion: 'a/b/c', kind: 'Bad_Kind' } }))).toEqual([
      'spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
      "spec.template.kind: Invalid value: \"Bad_Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  it('when the embedded metadata does not decode as ObjectMeta, then the decoder error is reported', () => {
    expect(errorLines(schema, resource({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { labels: { a: 1 } } } }))).toEqual([
      'spec.template.metadata: Invalid value: map[string]interface {}{"labels":map[string]interface {}{"a":1}}: json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string',
    ]);
  });

  it('when the embedded metadata has fields ObjectMeta lacks, then they are unknown and pruned', () => {
    const object = resource({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', colour: 'red' }, extra: true } });
    expect(schema.unknownFields(object)).toEqual(['.spec.template.metadata.colour']);
    expect(schema.prune(object)).toMatchObject({ spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, extra: true } } });
  });
});

describe('given a spec field constrained by anyOf', () => {
  const schema = givenSpec(objectSpec({ size: { type: 'string', anyOf: [{ pattern: '^[0-9]+$' }, { enum: ['small', 'large'] }] } }));

  it('when one alternative holds, then there is no error', () => {
    expect(schema.validate(resource({ size: 'small' }))).toEqual([]);
  });

  it('when none holds, then only the combinator error is reported, against a nil path as upstream does', () => {
    expect(errorLines(schema, resource({ size: 'medium' }))).toEqual(['<nil>: Invalid value: "": "spec.size" must validate at least one schema (anyOf)']);
  });
});

describe('goQuote', () => {
  it('when a string has quotes, controls or invisible characters, then it is escaped as Go %q escapes it', () => {
    expect(goQuote('say "hi"\n\t\u0001\u007f\u2028é')).toBe('"say \\"hi\\"\\n\\t\\x01\\x7f\\u2028é"');
  });
});

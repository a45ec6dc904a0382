// Almost-valid JSON from a JSON Schema (a route's OpenAPI request body): mostly what the schema asks for, now and
// then a wrong type, a null, a missing required field, an unknown key or a record key the schema never meant.
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
}

const WRONG_VALUES = [null, '', 'x', 0, -1, 1.5, true, [], {}, [null], { '': null }];

/** Any JSON value of a wrong shape, or null. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.constantFrom(...WRONG_VALUES) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

function numberArb(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const bounds = [schema.minimum, schema.maximum, schema.exclusiveMinimum].filter((bound): bound is number => bound !== undefined);
  const edges = bounds.flatMap((bound) => [bound, bound - 1, bound + 1, bound - 1e-9]);
  return fc.oneof(
    integer ? fc.integer({ min: -1000, max: 1_000_000 }) : fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.constantFrom(0, -0, 1, -1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 5e-324, ...edges),
  );
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [fc.string({ maxLength: 40 })];
  if (schema.pattern) {
    try {
      options.push(fc.stringMatching(new RegExp(schema.pattern)).filter((value) => value.length <= 300));
    } catch {
      // A pattern fast-check cannot generate from: plain strings only.
    }
  }
  if (schema.format === 'date-time') options.push(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.constant('2026-02-30T25:00:00Z'));
  if (schema.format === 'uuid') options.push(fc.uuid());
  if (schema.maxLength !== undefined) options.push(fc.constant('a'.repeat(schema.maxLength)), fc.constant('a'.repeat(schema.maxLength + 1)));
  return fc.oneof(...options);
}

/** Generates values for `schema`, resolving `#/components/schemas/…` refs through `components`. */
export function schemaArbitrary(schema: JsonSchema, components: Record<string, JsonSchema> = {}, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
    return schemaArbitrary(components[name] ?? {}, components, depth);
  }
  if (depth > 6) return wrong;
  const valid = validArbitrary(schema, components, depth);
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: wrong });
}

function validArbitrary(schema: JsonSchema, components: Record<string, JsonSchema>, depth: number): fc.Arbitrary<unknown> {
  const next = (sub: JsonSchema) => schemaArbitrary(sub, components, depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map(next));
  if (schema.allOf?.length) return next(Object.assign({}, ...schema.allOf) as JsonSchema);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type ?? (schema.properties ? 'object' : undefined)) {
    case 'object':
      return objectArbitrary(schema, next);
    case 'array':
      return fc.array(next(schema.items ?? {}), { minLength: Math.min(schema.minItems ?? 0, 3), maxLength: Math.max(Math.min(schema.maxItems ?? 3, 3), Math.min(schema.minItems ?? 0, 3)) });
    case 'string':
      return stringArb(schema);
    case 'integer':
      return numberArb(schema, true);
    case 'number':
      return numberArb(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectArbitrary(schema: JsonSchema, next: (sub: JsonSchema) => fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  const required = new Set(schema.required ?? []);
  const known = Object.entries(schema.properties ?? {}).map(([key, sub]) =>
    // Required fields are nearly always there, optional ones half the time.
    fc.tuple(fc.constant(key), next(sub), fc.nat(9)).map(([name, value, roll]) => (roll < (required.has(name) ? 9 : 5) ? [[name, value] as const] : [])),
  );
  const recordValue = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : Object.values(schema.patternProperties ?? {})[0];
  // Record keys: names like the ones the schema means, case variants, empty, and prototype keys.
  const recordKey = fc.oneof(
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/) },
    { weight: 2, arbitrary: fc.constantFrom('AUC', 'Min', '', '__proto__', 'constructor', 'a b', 'x'.repeat(70)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  // Values under keys the schema may not mean are as often wrong as right: that is where record schemas break.
  const record = recordValue ? fc.array(fc.tuple(recordKey, fc.oneof(next(recordValue), wrong)), { maxLength: 3 }) : fc.constant([]);
  const unknown = fc.option(fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 1 })), { freq: 8 });
  return fc.tuple(fc.tuple(...known), record, unknown).map(([knownEntries, recordEntries, extra]) => {
    const value: Record<string, unknown> = {};
    const define = (key: string, item: unknown) => Object.defineProperty(value, key, { value: item, enumerable: true, writable: true, configurable: true });
    for (const [key, item] of [...knownEntries.flat(), ...recordEntries, ...(extra ? [extra] : [])]) define(key, item);
    return value;
  });
}

/**
 * zod (v3, what @kube-restore/common uses) -> an OpenAPI v3 structural schema that a
 * CustomResourceDefinition accepts: every node has a type, objects list their properties (no
 * additionalProperties next to properties, no $ref), unions of objects become one object whose
 * discriminator is an enum. Refinements and transforms cannot be expressed there: the populator
 * validates every RestoreSource with the zod schema itself and reports what is wrong.
 */
/** A zod v3 schema, as far as this walk looks at it (no import: the repo root has zod 4). */
export interface ZodLike {
  _def: any;
}

export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  enum?: (string | number | boolean)[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface Converted {
  schema: OpenApiSchema;
  optional: boolean;
}

/** Thrown for a zod type with no structural equivalent, naming where it is. */
export class UnsupportedSchemaError extends Error {
  constructor(path: string, typeName: string) {
    super(`${path || '(root)'}: zod type ${typeName} has no CRD schema`);
    this.name = 'UnsupportedSchemaError';
  }
}

export function toStructuralSchema(schema: ZodLike): OpenApiSchema {
  return convert(schema, '').schema;
}

function convert(schema: ZodLike, path: string): Converted {
  const def = schema._def as { typeName: string } & Record<string, any>;
  switch (def.typeName) {
    case 'ZodOptional':
      return { schema: convert(def.innerType, path).schema, optional: true };
    case 'ZodDefault': {
      const inner = convert(def.innerType, path).schema;
      const value = def.defaultValue();
      // object defaults ({}) are left to the zod schema: the CRD would prune and default them again
      const scalar = typeof value !== 'object' || Array.isArray(value);
      return {
        schema: scalar ? { ...inner, default: value } : inner,
        optional: true,
      };
    }
    case 'ZodEffects':
      return convert(def.schema, path);
    case 'ZodString':
      return { schema: stringSchema(def.checks), optional: false };
    case 'ZodNumber':
      return { schema: numberSchema(def.checks), optional: false };
    case 'ZodBoolean':
      return { schema: { type: 'boolean' }, optional: false };
    case 'ZodEnum':
      return {
        schema: { type: 'string', enum: [...def.values] },
        optional: false,
      };
    case 'ZodLiteral':
      return {
        schema: { type: typeOfValue(def.value, path), enum: [def.value] },
        optional: false,
      };
    case 'ZodArray': {
      const out: OpenApiSchema = {
        type: 'array',
        items: convert(def.type, `${path}[]`).schema,
      };
      if (def.minLength) out.minItems = def.minLength.value;
      if (def.maxLength) out.maxItems = def.maxLength.value;
      return { schema: out, optional: false };
    }
    case 'ZodObject':
      return { schema: objectSchema(def.shape(), path), optional: false };
    case 'ZodDiscriminatedUnion':
      return {
        schema: discriminatedUnion(
          def.discriminator,
          [...def.options] as ZodLike[],
          path,
        ),
        optional: false,
      };
    default:
      throw new UnsupportedSchemaError(path, def.typeName);
  }
}

function objectSchema(
  shape: Record<string, ZodLike>,
  path: string,
): OpenApiSchema {
  const properties: Record<string, OpenApiSchema> = {};
  const required: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    const c = convert(value, path ? `${path}.${key}` : key);
    properties[key] = c.schema;
    if (!c.optional) required.push(key);
  }
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

/** One object: the discriminator is an enum of every option's value, the other fields all optional. */
function discriminatedUnion(
  discriminator: string,
  options: ZodLike[],
  path: string,
): OpenApiSchema {
  const values: string[] = [];
  const properties: Record<string, OpenApiSchema> = {};
  for (const option of options) {
    const converted = objectSchema(option._def.shape(), path);
    for (const [key, value] of Object.entries(converted.properties ?? {})) {
      if (key === discriminator) {
        values.push(...((value.enum ?? []) as string[]));
        continue;
      }
      const seen = properties[key];
      if (seen && JSON.stringify(seen) !== JSON.stringify(value))
        throw new UnsupportedSchemaError(
          `${path}.${key}`,
          'ZodDiscriminatedUnion with differing fields of one name',
        );
      properties[key] = value;
    }
  }
  return {
    type: 'object',
    properties: {
      [discriminator]: { type: 'string', enum: values },
      ...properties,
    },
    required: [discriminator],
  };
}

function stringSchema(checks: { kind: string; [k: string]: any }[]) {
  const out: OpenApiSchema = { type: 'string' };
  for (const check of checks) {
    if (check.kind === 'min') out.minLength = check.value;
    else if (check.kind === 'max') out.maxLength = check.value;
    else if (check.kind === 'regex') out.pattern = check.regex.source;
    else if (check.kind === 'datetime') out.format = 'date-time';
    else if (check.kind === 'url') out.format = 'uri';
  }
  return out;
}

function numberSchema(checks: { kind: string; [k: string]: any }[]) {
  const out: OpenApiSchema = { type: 'number' };
  for (const check of checks) {
    if (check.kind === 'int') out.type = 'integer';
    else if (check.kind === 'min') out.minimum = check.value;
    else if (check.kind === 'max') out.maximum = check.value;
  }
  return out;
}

function typeOfValue(value: unknown, path: string): OpenApiSchema['type'] {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'integer' : 'number';
  throw new UnsupportedSchemaError(path, `ZodLiteral(${typeof value})`);
}

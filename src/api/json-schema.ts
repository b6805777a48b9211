import { DEFAULT_MAX_STRING_LENGTH, ParameterConfig } from '../shared/config';

/** A JSON Schema object (plain data). */
export type JsonSchemaObject = Record<string, unknown>;

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * The JSON Schema of one parameter: the same in API Gateway's request models (draft 4) and in the
 * OpenAPI 3.1 document (2020-12), since it uses only keywords both share.
 */
export function parameterSchema(p: ParameterConfig): JsonSchemaObject {
  const base: JsonSchemaObject = p.description ? { description: p.description } : {};
  switch (p.type) {
    case 'string':
      return {
        ...base,
        type: 'string',
        maxLength: p.maxLength ?? DEFAULT_MAX_STRING_LENGTH,
        ...(p.minLength !== undefined ? { minLength: p.minLength } : {}),
        ...(p.pattern ? { pattern: `^(?:${p.pattern})$` } : {}),
      };
    case 'integer':
    case 'number':
      return {
        ...base,
        type: p.type,
        ...(p.minimum !== undefined ? { minimum: p.minimum } : {}),
        ...(p.maximum !== undefined ? { maximum: p.maximum } : {}),
      };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'uuid':
      return { ...base, type: 'string', pattern: UUID_PATTERN };
    case 'date-time':
      return { ...base, type: 'string', format: 'date-time' };
    case 'enum':
      return { ...base, type: 'string', enum: [...(p.values ?? [])] };
  }
}

/** Whether the request must carry the parameter (path parameters always; others unless optional or defaulted). */
export function isRequired(p: ParameterConfig): boolean {
  return p.in === 'path' || (p.required !== false && p.default === undefined);
}

/**
 * The schema of a body property. An optional one also admits `null`, which the query module takes as
 * absent (the default, or SQL NULL); a required one is refused when null.
 */
export function bodyPropertySchema(p: ParameterConfig): JsonSchemaObject {
  const schema = parameterSchema(p);
  if (isRequired(p)) return schema;
  return { ...schema, type: [schema.type, 'null'], ...(Array.isArray(schema.enum) ? { enum: [...schema.enum, null] } : {}) };
}

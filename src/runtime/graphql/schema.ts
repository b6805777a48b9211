/**
 * The GraphQL schema of a set of queries, built with graphql-js: every read query is a Query field and
 * every write query a Mutation field, arguments typed from the parameters, results typed from the
 * declared columns (a write without columns answers its affected rows). Resolvers call the real query
 * handlers, so validation, binding, claims, scopes, timeouts, row limits and audit are exactly the REST
 * routes'.
 */
import {
  GraphQLBoolean, GraphQLEnumType, GraphQLFieldConfig, GraphQLFieldConfigArgumentMap, GraphQLFloat, GraphQLInputType, GraphQLInt, GraphQLList,
  GraphQLNonNull, GraphQLObjectType, GraphQLOutputType, GraphQLScalarType, GraphQLSchema, GraphQLString, Kind, ValueNode,
} from 'graphql';
import type { ColumnConfig, ColumnType, ParameterConfig, PreparedQuery } from '../../shared/config';
import { QUERY_FIELD_COST } from '../../shared/graphql-config';
import type { StatementResult } from '../engines/engine';

/** What a query answers a resolver: its rows, and a paged query's next cursor. */
export type RunnerResult = StatementResult & { readonly nextCursor?: string };

/** What a resolver needs to run a query: the handler of its access level. */
export type QueryRunner = (query: PreparedQuery, args: Readonly<Record<string, unknown>>, context: unknown) => Promise<RunnerResult>;

/**
 * A value this schema's scalars cannot carry. Its message names the scalar only, never the value, so
 * it is the one unexpected error whose message a client sees.
 */
export class ScalarValueError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'ScalarValueError';
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function safeInteger(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n === 'bigint' && n <= BigInt(MAX_SAFE) && n >= BigInt(-MAX_SAFE)) return Number(n);
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  throw new ScalarValueError('SafeInt cannot represent this value');
}

/** Integers up to 2^53 - 1 (GraphQL's Int stops at 2^31 - 1; database keys often do not). */
const SafeInt = new GraphQLScalarType({
  name: 'SafeInt',
  description: 'A whole number from -(2^53 - 1) to 2^53 - 1.',
  serialize: safeInteger,
  parseValue: (v) => {
    if (typeof v !== 'number') throw new ScalarValueError('SafeInt must be a number');
    return safeInteger(v);
  },
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.INT) throw new ScalarValueError('SafeInt must be a whole number literal');
    return safeInteger(Number(ast.value));
  },
});

function stringScalar(name: string, description: string, serialize: (v: unknown) => string): GraphQLScalarType {
  return new GraphQLScalarType({
    name,
    description,
    serialize,
    // Inputs stay strings; the parameter validation checks their form, as for REST.
    parseValue: (v) => {
      if (typeof v !== 'string') throw new ScalarValueError(`${name} must be a string`);
      return v;
    },
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) throw new ScalarValueError(`${name} must be a string literal`);
      return ast.value;
    },
  });
}

const DateTime = stringScalar('DateTime', 'An RFC 3339 date-time.', (v) => (v instanceof Date ? v.toISOString() : String(v)));
const UUID = stringScalar('UUID', 'An RFC 9562 UUID.', (v) => String(v));
const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value (output only).',
  serialize: (v) => (typeof v === 'string' ? safeJson(v) : v),
  parseValue: () => {
    throw new ScalarValueError('JSON is an output type');
  },
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Drivers' values as the column's type: MySQL booleans are 0/1, and numerics may come back as strings. */
function normalize(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'boolean' && (v === 0 || v === 1 || v === '0' || v === '1')) return v === 1 || v === '1';
  if (type === 'number' && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

const ENUM_VALUE = /^[_A-Za-z][_0-9A-Za-z]*$/;

function argumentType(q: PreparedQuery, p: ParameterConfig): GraphQLInputType {
  switch (p.type) {
    case 'string':
      return GraphQLString;
    case 'integer': {
      const fitsInt = p.minimum !== undefined && p.maximum !== undefined && p.minimum >= -(2 ** 31) && p.maximum <= 2 ** 31 - 1;
      return fitsInt ? GraphQLInt : SafeInt;
    }
    case 'number':
      return GraphQLFloat;
    case 'boolean':
      return GraphQLBoolean;
    case 'uuid':
      return UUID;
    case 'date-time':
      return DateTime;
    case 'enum': {
      const values = p.values ?? [];
      // Values that are not GraphQL names (or are true/false/null) stay strings, checked by the parameter validation.
      if (!values.every((v) => ENUM_VALUE.test(v) && !['true', 'false', 'null'].includes(v))) return GraphQLString;
      return new GraphQLEnumType({ name: `${pascal(q.name)}${pascal(p.name)}`, values: Object.fromEntries(values.map((v) => [v, { value: v }])) });
    }
  }
}

function columnType(t: ColumnType): GraphQLOutputType {
  switch (t) {
    case 'string':
      return GraphQLString;
    case 'integer':
      return SafeInt;
    case 'number':
      return GraphQLFloat;
    case 'boolean':
      return GraphQLBoolean;
    case 'date-time':
      return DateTime;
    case 'uuid':
      return UUID;
    case 'json':
      return JSONScalar;
  }
}

function rowType(q: PreparedQuery, columns: readonly ColumnConfig[]): GraphQLObjectType {
  return new GraphQLObjectType({
    name: `${pascal(q.name)}Row`,
    description: `A row of ${q.name}.`,
    fields: Object.fromEntries(columns.map((c) => {
      const type = columnType(c.type);
      return [c.name, {
        type: c.nullable === false ? new GraphQLNonNull(type) : type,
        description: c.description,
        resolve: (source: Record<string, unknown>) => normalize(c.type, source[c.name]),
      }];
    })),
  });
}

function resultType(q: PreparedQuery, row: GraphQLObjectType): GraphQLOutputType {
  if (q.single) return row;
  return new GraphQLObjectType({
    name: `${pascal(q.name)}Result`,
    fields: {
      rows: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(row))) },
      truncated: { type: new GraphQLNonNull(GraphQLBoolean), description: `More than ${q.rowLimit} rows matched; the rest were cut off.` },
      ...(q.access === 'write' ? { affectedRows: { type: SafeInt, description: 'Rows the statement changed, when the driver reports it.' } } : {}),
      ...(q.pagination ? { nextCursor: { type: GraphQLString, description: 'The `after` of the next page; null on the last page.' } } : {}),
    },
  });
}

/** What a write without result columns (an UPDATE or DELETE without RETURNING) answers: its affected rows. */
function payloadType(q: PreparedQuery): GraphQLOutputType {
  return new GraphQLNonNull(new GraphQLObjectType({
    name: `${pascal(q.name)}Payload`,
    description: `What ${q.name} changed.`,
    fields: { affectedRows: { type: new GraphQLNonNull(SafeInt), description: 'Rows the statement changed.' } },
  }));
}

function field(q: PreparedQuery, run: QueryRunner): GraphQLFieldConfig<unknown, unknown> {
  const args: GraphQLFieldConfigArgumentMap = {};
  for (const p of q.parameters) {
    const type = argumentType(q, p);
    const required = p.required !== false && p.default === undefined;
    args[p.name] = {
      type: required ? new GraphQLNonNull(type) : type,
      description: p.description,
      ...(p.default !== undefined ? { defaultValue: p.default } : {}),
    };
  }
  if (q.pagination) {
    args.limit = { type: GraphQLInt, description: `Rows per page, from 1 to ${q.rowLimit}. Default: ${q.rowLimit}.` };
    args.after = { type: GraphQLString, description: 'The `nextCursor` of the previous page; the first page without it.' };
  }
  const payloadOnly = q.access === 'write' && (q.columns ?? []).length === 0;
  return {
    type: payloadOnly ? payloadType(q) : resultType(q, rowType(q, q.columns ?? [])),
    args,
    description: `${q.method} ${q.path}`,
    // A database call: what the complexity limit counts.
    extensions: { complexity: ({ childComplexity }: { childComplexity: number }) => QUERY_FIELD_COST + childComplexity },
    resolve: async (_source, fieldArgs, context) => {
      const result = await run(q, fieldArgs as Record<string, unknown>, context);
      if (payloadOnly) return { affectedRows: result.affectedRows };
      if (q.single) return result.rows[0] ?? null;
      return { rows: result.rows, truncated: result.truncated, affectedRows: result.affectedRows, nextCursor: result.nextCursor ?? null };
    },
  };
}

export function buildGraphqlSchema(queries: readonly PreparedQuery[], run: QueryRunner): GraphQLSchema {
  const reads = queries.filter((q) => q.access === 'read');
  const writes = queries.filter((q) => q.access === 'write');
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: Object.fromEntries(reads.map((q) => [q.name, field(q, run)])) }),
    ...(writes.length > 0 ? { mutation: new GraphQLObjectType({ name: 'Mutation', fields: Object.fromEntries(writes.map((q) => [q.name, field(q, run)])) }) } : {}),
  });
}

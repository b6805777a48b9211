/**
 * The OpenAPI 3.1 document of a SecureDbApi, generated at synth time from the query definitions:
 * the stage's server, paths, typed parameters and bodies, result schemas from the declared columns,
 * the authorization (with each route's scopes), API keys, and every problem+json error the API can
 * answer. Each operation is described and tagged by its path's first segment.
 */
import type { OpenApiSecurityScheme } from './authorization';
import { bodyPropertySchema, isRequired, JsonSchemaObject, parameterSchema } from './json-schema';
import { ColumnConfig, ParameterConfig, QueryConfig, routeKeyOf } from '../shared/config';
import { MAX_CURSOR_CHARS } from '../shared/pagination';
import { PROBLEM_TYPE_BASE } from '../shared/problem';

export interface OpenApiInput {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
  readonly queries: readonly QueryConfig[];
  /** Routes opened with allowUnauthenticated, as `routeKeyOf` writes them. */
  readonly unauthenticated: ReadonlySet<string>;
  readonly security: OpenApiSecurityScheme;
  /** The authorization carries token claims (401 for bad tokens; scopes are listed). */
  readonly tokens: boolean;
  readonly apiKeyRequired: boolean;
  /** The GraphQL endpoint's path, if any. */
  readonly graphqlPath?: string;
  /** Where the document itself is served, if it is. */
  readonly documentPath?: string;
  /** The API's servers (see `executeApiServer`). */
  readonly servers: readonly OpenApiServer[];
  /** The queries' own descriptions, by query name. */
  readonly descriptions?: ReadonlyMap<string, string>;
}

/** An OpenAPI Server Object. */
export interface OpenApiServer {
  readonly url: string;
  readonly description?: string;
  readonly variables?: Record<string, { readonly default: string }>;
}

/**
 * The stage's execute-api endpoint as a templated server, for documents written at synthesis, when the
 * RestApi's id is not known yet: `restApiId` and `region` are variables (the region defaults to the
 * stack's, when the stack has one), the stage is the API's.
 */
export function executeApiServer(stageName: string, region: string | undefined, endpointOutput: string): OpenApiServer {
  const suffix = region?.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return {
    url: `https://{restApiId}.execute-api.{region}.${suffix}/${stageName}`,
    description: `The API's stage. The RestApi's id is assigned when the stack is deployed; then the stack output ${endpointOutput} holds this URL.`,
    variables: { restApiId: { default: 'restApiId' }, region: { default: region ?? 'us-east-1' } },
  };
}

/** A GraphQL error, as the GraphQL specification lays it out. */
const GRAPHQL_ERROR: JsonSchemaObject = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    locations: { type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, column: { type: 'integer' } }, required: ['line', 'column'] } },
    path: { type: 'array', items: { type: ['string', 'integer'] } },
    extensions: { type: 'object', additionalProperties: true },
  },
  required: ['message'],
};

const PROBLEM_RESPONSES: Record<string, string> = {
  400: 'The request is invalid (validation errors are listed).',
  401: 'The token is missing, invalid or expired.',
  403: 'The caller may not call this route, or lacks a scope, group or claim.',
  404: 'No row matches the request.',
  413: 'The request body is too large.',
  415: 'The request body is not JSON.',
  429: 'Throttled, or the API key\'s quota is used up.',
  500: 'Internal error.',
  503: 'The database cannot be reached right now; retry later.',
  504: 'The query took too long.',
};

/** The 400 of a paged query: its own component, so the documents of APIs without paging stay as they are. */
const PAGED_BAD_REQUEST = '400Paged';
const PAGED_BAD_REQUEST_DESCRIPTION = 'The request is invalid (validation errors are listed, a bad `limit` among them), or the cursor is not one '
  + `this API issued for this query, these parameter values and this caller, or has expired (type \`${PROBLEM_TYPE_BASE}invalid-cursor\`).`;

/** A paged query's `limit` and `cursor` query-string parameters. */
function pagingParameters(q: QueryConfig): Record<string, unknown>[] {
  return [
    {
      name: 'limit',
      in: 'query',
      required: false,
      description: `Rows per page, from 1 to ${q.rowLimit}.`,
      schema: { type: 'integer', minimum: 1, maximum: q.rowLimit, default: q.rowLimit },
    },
    {
      name: 'cursor',
      in: 'query',
      required: false,
      description: 'The `meta.nextCursor` of the previous page (or follow `links.next`); the first page without it. Opaque: signed, '
        + 'valid for this query, these parameter values and this caller only, for a limited time.',
      schema: { type: 'string', maxLength: MAX_CURSOR_CHARS, pattern: '^[A-Za-z0-9_-]+$' },
    },
  ];
}

function columnSchema(c: ColumnConfig): JsonSchemaObject {
  const base: JsonSchemaObject = (() => {
    switch (c.type) {
      case 'string':
        return { type: 'string' };
      case 'integer':
        return { type: 'integer' };
      case 'number':
        return { type: 'number' };
      case 'boolean':
        return { type: 'boolean' };
      case 'date-time':
        return { type: 'string', format: 'date-time' };
      case 'uuid':
        return { type: 'string', format: 'uuid' };
      case 'json':
        return {};
    }
  })();
  const typed = c.nullable === false || base.type === undefined ? base : { ...base, type: [base.type, 'null'] };
  return c.description ? { ...typed, description: c.description } : typed;
}

function withDefault(p: ParameterConfig, schema: JsonSchemaObject = parameterSchema(p)): JsonSchemaObject {
  return { ...schema, ...(p.default !== undefined ? { default: p.default } : {}) };
}

/** The tag of a route: its path's first segment (`/orders/{id}` is `orders`), or `/` for the route `/`. */
function tagOf(path: string): string {
  return path.split('/')[1] || '/';
}

/** What the document says of a query besides its own description: what it does, limits, who may call it. */
function queryDescription(q: QueryConfig, own: string | undefined, open: boolean): string {
  const facts = [
    q.access === 'write' ? 'Writes to the database.' : 'Reads from the database.',
    q.single ? 'Answers one row, or 404 when no row matches.'
      : q.pagination ? `Answers pages of at most \`limit\` rows (${q.rowLimit} at most), ordered by ${q.pagination.orderBy.map((o) => `${o.column}${o.descending ? ' descending' : ''}`).join(', ')}; `
        + '`meta.nextCursor` and `links.next` (and the `Link` header) lead to the next page, and are null on the last.'
        : `Answers at most ${q.rowLimit} rows (\`meta.truncated\` tells when more matched).`,
    `The statement is cancelled after ${q.timeoutMs / 1000} s (504).`,
    ...(open ? ['Open to unauthenticated callers.'] : []),
    ...(q.requiredScopes?.length ? [`The token must carry the scopes: ${q.requiredScopes.join(', ')}.`] : []),
    ...(q.requiredGroups?.length ? [`Callers must be in one of the groups: ${q.requiredGroups.join(', ')}.`] : []),
  ].join(' ');
  return own ? `${own}\n\n${facts}` : facts;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function rowSchema(q: QueryConfig): JsonSchemaObject {
  if (!q.columns) return { type: 'object', description: 'A row (columns not declared).', additionalProperties: true };
  return {
    type: 'object',
    properties: Object.fromEntries(q.columns.map((c) => [c.name, columnSchema(c)])),
    required: q.columns.map((c) => c.name),
    additionalProperties: false,
  };
}

function errorResponses(q: QueryConfig | undefined, input: OpenApiInput, open: boolean): Record<string, unknown> {
  const codes = [q?.pagination ? PAGED_BAD_REQUEST : '400', '403', '429', '500'];
  if (q) codes.push('503', '504');
  if (input.tokens && !open) codes.push('401');
  if (q?.single) codes.push('404');
  if (q?.parameters.some((p) => p.in === 'body') || (!q && input.graphqlPath)) codes.push('413', '415');
  return Object.fromEntries(codes.sort().map((c) => [c.slice(0, 3), { $ref: `#/components/responses/Problem${c}` }]));
}

function securityOf(q: QueryConfig | undefined, input: OpenApiInput, open: boolean): unknown[] {
  const apiKey = input.apiKeyRequired ? { apiKey: [] } : {};
  if (open) return input.apiKeyRequired ? [apiKey] : [];
  // OpenAPI 3.1 lets non-OAuth schemes list role names: the route's scopes.
  return [{ [input.security.name]: input.tokens ? [...(q?.requiredScopes ?? [])] : [], ...apiKey }];
}

/** A paged query's result: `meta.nextCursor` and `links.next`. */
function pagedResult(data: { properties: Record<string, unknown>; required: string[] }): void {
  const meta = data.properties.meta as { properties: Record<string, unknown>; required: string[] };
  meta.properties.nextCursor = { type: ['string', 'null'], description: 'The cursor of the next page; null on the last page.' };
  meta.required.push('nextCursor');
  data.properties.links = {
    type: 'object',
    properties: { next: { type: ['string', 'null'], format: 'uri-reference', description: 'The next page\'s URL, relative to the host; null on the last page.' } },
    required: ['next'],
  };
  data.required.push('links');
}

export function openApiDocument(input: OpenApiInput): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details.',
      properties: {
        type: { type: 'string', description: `A stable identifier, ${PROBLEM_TYPE_BASE}<kind>.` },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        instance: { type: 'string' },
        requestId: { type: 'string' },
        errors: {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, in: { type: 'string' }, reason: { type: 'string' } }, required: ['name', 'in', 'reason'] },
        },
      },
      required: ['type', 'title'],
    },
  };
  for (const q of input.queries) {
    const open = input.unauthenticated.has(routeKeyOf(q.method, q.path));
    const rowName = `${pascal(q.name)}Row`;
    schemas[rowName] = rowSchema(q);
    const data = q.single
      ? { type: 'object', properties: { data: { $ref: `#/components/schemas/${rowName}` } }, required: ['data'] }
      : {
        type: 'object',
        properties: {
          data: { type: 'array', items: { $ref: `#/components/schemas/${rowName}` } },
          meta: {
            type: 'object',
            properties: { rowCount: { type: 'integer' }, truncated: { type: 'boolean', description: `More than ${q.rowLimit} rows matched.` }, affectedRows: { type: 'integer' } },
            required: ['rowCount', 'truncated'],
          },
        },
        required: ['data', 'meta'],
      };
    if (q.pagination) pagedResult(data);
    const bodyParams = q.parameters.filter((p) => p.in === 'body');
    const operation: Record<string, unknown> = {
      operationId: q.name,
      summary: q.name,
      description: queryDescription(q, input.descriptions?.get(q.name), open),
      tags: [tagOf(q.path)],
      parameters: [...q.parameters.filter((p) => p.in !== 'body').map((p) => ({
        name: p.name,
        in: p.in,
        required: isRequired(p),
        schema: withDefault(p),
        ...(p.description ? { description: p.description } : {}),
      })), ...(q.pagination ? pagingParameters(q) : [])],
      ...(bodyParams.length > 0 ? {
        requestBody: {
          required: bodyParams.some(isRequired),
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: Object.fromEntries(bodyParams.map((p) => [p.name, withDefault(p, bodyPropertySchema(p))])),
                required: bodyParams.filter(isRequired).map((p) => p.name),
              },
            },
          },
        },
      } : {}),
      responses: {
        200: {
          description: 'The result.',
          ...(q.pagination ? { headers: { Link: { description: 'The next page: `<URL>; rel="next"` (absent on the last page).', schema: { type: 'string' } } } } : {}),
          content: { 'application/json': { schema: data } },
        },
        ...errorResponses(q, input, open),
      },
      security: securityOf(q, input, open),
    };
    (paths[q.path] ??= {})[q.method.toLowerCase()] = operation;
  }
  if (input.graphqlPath) {
    (paths[input.graphqlPath] ??= {}).post = {
      operationId: 'graphql',
      summary: 'GraphQL over the same queries (per-field scopes apply)',
      description: 'The queries as GraphQL: read queries are Query fields, write queries Mutation fields. Each field needs the scopes '
        + 'and groups of its route, and runs like it; field errors are in `errors`.',
      tags: [tagOf(input.graphqlPath)],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { query: { type: 'string' }, variables: { type: ['object', 'null'] }, operationName: { type: ['string', 'null'] }, extensions: { type: 'object' } },
            },
          },
        },
      },
      responses: {
        200: { description: 'A GraphQL response.', content: { 'application/json': { schema: { type: 'object', properties: { data: {}, errors: { type: 'array', items: GRAPHQL_ERROR } } } } } },
        ...errorResponses(undefined, input, false),
      },
      security: securityOf(undefined, input, false),
    };
  }
  if (input.documentPath) {
    (paths[input.documentPath] ??= {}).get = {
      operationId: 'openApiDocument',
      summary: 'This document',
      description: 'This API\'s OpenAPI 3.1 document.',
      tags: [tagOf(input.documentPath)],
      responses: { 200: { description: 'The OpenAPI document.', content: { 'application/json': { schema: { type: 'object' } } } }, ...errorResponses(undefined, { ...input, graphqlPath: undefined }, false) },
      security: securityOf(undefined, input, false),
    };
  }
  const operations = Object.values(paths).flatMap((item) => Object.values(item) as Array<{ tags: string[]; responses: Record<string, unknown> }>);
  const tags = [...new Set(operations.flatMap((o) => o.tags))].sort();
  // Only the problem responses some operation refers to (an unused component is a lint warning).
  const problemResponses = { ...PROBLEM_RESPONSES, [PAGED_BAD_REQUEST]: PAGED_BAD_REQUEST_DESCRIPTION };
  const used = new Set(operations.flatMap((o) => Object.values(o.responses).map((r) => String((r as { $ref?: unknown }).$ref ?? '').replace('#/components/responses/Problem', ''))));
  return {
    openapi: '3.1.0',
    info: { title: input.title, version: input.version, ...(input.description ? { description: input.description } : {}) },
    servers: input.servers,
    tags: tags.map((name) => ({ name, description: name === '/' ? 'The route `/`.' : `Routes under \`/${name}\`.` })),
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(Object.entries(problemResponses).filter(([code]) => used.has(code)).map(([code, description]) => [
        `Problem${code}`,
        { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      ])),
      securitySchemes: {
        [input.security.name]: input.security.scheme,
        ...(input.apiKeyRequired ? { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key of the usage plan' } } : {}),
      },
    },
  };
}

/**
 * The document as an API Gateway mapping template that renders it verbatim: `$` and `#` (Velocity's
 * markers) only occur inside JSON strings, where `\u0024` and `\u0023` mean the same characters.
 */
export function asMappingTemplate(document: unknown): string {
  return JSON.stringify(document).replace(/\$/g, '\\u0024').replace(/#/g, '\\u0023');
}

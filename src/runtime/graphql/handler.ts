/**
 * The GraphQL endpoint: POST {path} with `{ query, variables, operationName, extensions }`. Parses,
 * validates (spec rules, depth and complexity limits, introspection off unless enabled, persisted
 * documents when required), then executes with graphql-js. Query fields run as the reader, mutation
 * fields as the writer, each through its own QueryHandler (one connection each, one audit record per
 * field). Errors follow the GraphQL spec with stable `extensions.code`s and never carry driver text.
 * Documents and variables are never logged.
 */
import {
  DocumentNode, execute, ExecutionResult, GraphQLError, GraphQLSchema, NoSchemaIntrospectionCustomRule, OperationDefinitionNode, parse,
  specifiedRules, validate, ValidationRule,
} from 'graphql';
import depthLimit from 'graphql-depth-limit';
import type * as QueryComplexity from 'graphql-query-complexity';
import { buildGraphqlSchema, ScalarValueError } from './schema';
import { DEFAULT_MAX_BODY_BYTES, GraphqlConfig, PreparedQuery } from '../../shared/config';
import { graphqlProblems, sha256Hex } from '../../shared/graphql-config';
import { ProblemKind } from '../../shared/problem';
import { claimsOf } from '../claims';
import { InvokeContext, LogSink, QueryHandler } from '../handler';
import { principalOf } from '../observability';
import { HttpResponse, Problem, SECURITY_HEADERS } from '../problem';
import { decodeJsonBody } from '../request';

// The CommonJS build: its ESM build imports graphql's ESM files, and a bundle with two copies of graphql
// fails at run time ("Cannot use GraphQLObjectType from another module or realm").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getComplexity, simpleEstimator, fieldExtensionsEstimator } = require('graphql-query-complexity/cjs') as typeof QueryComplexity;

/** `application/json` (or `application/graphql-response+json`), optionally with a UTF-8 charset. */
const GRAPHQL_CONTENT_TYPE = /^application\/(json|graphql-response\+json)\s*(;\s*charset=(?:"?utf-8"?)\s*)?$/i;

/** Stable error codes clients can switch on. */
export const GRAPHQL_CODES: Record<ProblemKind, string> = {
  'validation': 'BAD_USER_INPUT',
  'invalid-cursor': 'BAD_USER_INPUT',
  'forbidden': 'FORBIDDEN',
  'not-found': 'NOT_FOUND',
  'method-not-allowed': 'METHOD_NOT_ALLOWED',
  'payload-too-large': 'PAYLOAD_TOO_LARGE',
  'request-timeout': 'REQUEST_TIMEOUT',
  'headers-too-large': 'HEADERS_TOO_LARGE',
  'unsupported-media-type': 'UNSUPPORTED_MEDIA_TYPE',
  'conflict': 'CONFLICT',
  'idempotency-key-in-use': 'CONFLICT',
  'idempotency-key-reused': 'BAD_USER_INPUT',
  'timeout': 'TIMEOUT',
  'unavailable': 'SERVICE_UNAVAILABLE',
  'write-outcome-unknown': 'WRITE_OUTCOME_UNKNOWN',
  'internal': 'INTERNAL_SERVER_ERROR',
};

/** Who calls, for every field of one request (each field then names its own route). */
type GraphqlContext = Omit<InvokeContext, 'route'>;

export interface GraphqlHandlerOptions {
  readonly config: GraphqlConfig;
  /** Runs the read queries (as the reader). */
  readonly reader: QueryHandler;
  /** Runs the write queries (as the writer); absent when there are none. */
  readonly writer?: QueryHandler;
  readonly maxBodyBytes?: number;
  /** Where unexpected errors are logged (their name and field path, never their message). */
  readonly log?: LogSink;
}

type GraphqlEvent = Parameters<QueryHandler['handle']>[0];

interface GraphqlRequest {
  readonly query?: unknown;
  readonly variables?: unknown;
  readonly operationName?: unknown;
  readonly extensions?: unknown;
}

function respond(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { ...SECURITY_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function requestError(statusCode: number, code: string, message: string): HttpResponse {
  return respond(statusCode, { errors: [{ message, extensions: { code } }] });
}

export class GraphqlHandler {
  readonly schema: GraphQLSchema;
  private readonly rules: readonly ValidationRule[];
  private readonly maxBodyBytes: number;
  private readonly log: LogSink;

  constructor(private readonly options: GraphqlHandlerOptions) {
    const queries = [...this.queriesOf(options.reader, 'read'), ...(options.writer ? this.queriesOf(options.writer, 'write') : [])];
    const problems = graphqlProblems(queries, options.config);
    if (problems.length > 0) throw new Error(`Invalid GraphQL configuration:\n- ${problems.join('\n- ')}`);
    this.schema = buildGraphqlSchema(queries, (q, args, context) => {
      const c = context as GraphqlContext;
      const handler = q.access === 'write' ? options.writer! : options.reader;
      return handler.invoke(q.name, args, { ...c, route: `graphql:${q.name}` });
    });
    this.rules = [
      ...specifiedRules,
      depthLimit(options.config.maxDepth),
      ...(options.config.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ];
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.log = options.log ?? ((entry) => console.log(JSON.stringify(entry)));
  }

  private queriesOf(handler: QueryHandler, access: 'read' | 'write'): PreparedQuery[] {
    return handler.queries().filter((q) => q.access === access);
  }

  /** Closes both connections. */
  async close(): Promise<void> {
    await Promise.all([this.options.reader.close(), this.options.writer?.close()]);
  }

  /** Handles one request. Never throws. */
  async handle(event: GraphqlEvent, requestId?: string): Promise<HttpResponse> {
    try {
      return await this.handleUnsafe(event, requestId);
    } catch (e) {
      this.log({ level: 'ERROR', message: 'unexpected GraphQL handler error', requestId, errorName: (e as Error)?.name });
      return requestError(500, 'INTERNAL_SERVER_ERROR', 'An internal error occurred.');
    }
  }

  private async handleUnsafe(event: GraphqlEvent, requestId?: string): Promise<HttpResponse> {
    if (event.httpMethod !== 'POST') return requestError(405, 'METHOD_NOT_ALLOWED', 'GraphQL requests are POSTed');
    const body = this.parseBody(event);
    if ('response' in body) return body.response;
    const request = body.request;
    const resolved = this.documentText(request);
    if (typeof resolved !== 'string') return resolved;
    let document: DocumentNode;
    try {
      document = parse(resolved, { noLocation: false, maxTokens: 5000 });
    } catch (e) {
      return requestError(400, 'GRAPHQL_PARSE_FAILED', (e as GraphQLError).message);
    }
    const validationErrors = validate(this.schema, document, this.rules);
    if (validationErrors.length > 0) {
      return respond(400, {
        errors: validationErrors.map((e) => ({
          message: e.message,
          locations: e.locations,
          extensions: { code: /exceeds maximum operation depth/.test(e.message) ? 'QUERY_TOO_DEEP' : 'GRAPHQL_VALIDATION_FAILED' },
        })),
      });
    }
    const variables = request.variables ?? undefined;
    if (variables !== undefined && (variables === null || typeof variables !== 'object' || Array.isArray(variables))) {
      return requestError(400, 'BAD_USER_INPUT', 'variables must be a JSON object');
    }
    const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition'
      && (operationName === undefined || d.name?.value === operationName));
    if (!operation) return requestError(400, 'BAD_USER_INPUT', operationName ? `No operation named ${operationName}` : 'The document has no operation');
    let complexity: number;
    try {
      complexity = getComplexity({
        schema: this.schema,
        query: document,
        operationName,
        variables: variables as Record<string, unknown> | undefined,
        estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch (e) {
      // Variables that do not fit their types: graphql-js says which, without the value's context.
      return requestError(400, 'BAD_USER_INPUT', (e as Error).message);
    }
    if (complexity > this.options.config.maxComplexity) {
      return requestError(400, 'QUERY_TOO_COMPLEX', `The operation costs ${complexity}, more than the allowed ${this.options.config.maxComplexity}`);
    }
    const context: GraphqlContext = {
      claims: claimsOf(event.requestContext),
      requestId,
      apiRequestId: event.requestContext?.requestId,
      principal: principalOf(event.requestContext),
    };
    const result = await execute({
      schema: this.schema,
      document,
      variableValues: variables as Record<string, unknown> | undefined,
      operationName,
      contextValue: context,
    });
    return respond(200, this.format(result, requestId));
  }

  /** The document to run: the query text, or a persisted document by hash. */
  private documentText(request: GraphqlRequest): string | HttpResponse {
    const persisted = this.options.config.persistedQueries ?? {};
    const ext = request.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined;
    const hash = ext?.persistedQuery?.sha256Hash;
    if (hash !== undefined) {
      if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return requestError(400, 'BAD_USER_INPUT', 'persistedQuery.sha256Hash must be 64 lower-case hex digits');
      const doc = persisted[hash];
      if (doc === undefined) return respond(200, { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
      if (typeof request.query === 'string' && request.query !== doc) return requestError(400, 'BAD_USER_INPUT', 'The query does not match its persisted hash');
      return doc;
    }
    if (typeof request.query !== 'string' || request.query.trim() === '') return requestError(400, 'BAD_USER_INPUT', 'The request needs a query string');
    if (this.options.config.persistedOnly && persisted[sha256Hex(request.query)] === undefined) {
      return requestError(400, 'PERSISTED_QUERY_REQUIRED', 'Only persisted queries are accepted');
    }
    return request.query;
  }

  private parseBody(event: GraphqlEvent): { request: GraphqlRequest } | { response: HttpResponse } {
    let parsed: unknown;
    try {
      parsed = decodeJsonBody(event, this.maxBodyBytes, GRAPHQL_CONTENT_TYPE);
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      return { response: requestError(e.status, GRAPHQL_CODES[e.kind], e.detail) };
    }
    if (parsed === undefined) return { response: requestError(400, 'BAD_USER_INPUT', 'The request needs a JSON body') };
    if (Array.isArray(parsed)) return { response: requestError(400, 'BAD_USER_INPUT', 'Batched requests are not accepted') };
    if (parsed === null || typeof parsed !== 'object') return { response: requestError(400, 'BAD_USER_INPUT', 'The request body must be a JSON object') };
    return { request: parsed as GraphqlRequest };
  }

  /** Field errors: the Problem's safe detail and code; anything else is an internal error without its message. */
  private format(result: ExecutionResult, requestId: string | undefined): Record<string, unknown> {
    if (!result.errors || result.errors.length === 0) return { data: result.data };
    const errors = result.errors.map((e) => {
      const original = e.originalError;
      if (original instanceof Problem) {
        const fields = original.extras.errors ? { fields: original.extras.errors } : {};
        return { message: original.detail, path: e.path, extensions: { code: GRAPHQL_CODES[original.kind], ...fields } };
      }
      if (original && !(original instanceof GraphQLError)) {
        this.log({ level: 'ERROR', message: 'unexpected GraphQL field error', requestId, errorName: original.name, path: e.path });
        // A value a scalar cannot carry: its message names the type only. Any other error's message (a
        // TypeError from a bug, say) could describe the code or the data, and stays in the logs.
        if (original instanceof ScalarValueError) return { message: original.message, path: e.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
        return { message: 'An internal error occurred.', path: e.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
      return { message: e.message, locations: e.locations, path: e.path, extensions: { code: 'BAD_USER_INPUT' } };
    });
    return { errors, data: result.data ?? null };
  }
}

/**
 * The query handler: routes an API Gateway REST proxy event to a query definition, validates and
 * binds its parameters, runs it on one reused connection, and answers JSON or problem+json.
 */
import { authorize, Claims, claimsOf, claimValues } from './claims';
import type * as ConfigCheck from './config-check';
import { CredentialsProvider } from './credentials';
import { CursorKeySource, processCursorKey } from './cursor-key';
import { databaseProblem, logDatabaseError, RETRY_AFTER_SECONDS, writeOutcomeUnknown } from './database-errors';
import type { CursorValue, PageStatement } from './pagination';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, PreparedQuery, RuntimeConfig } from '../shared/config';
import { ClientTimeoutError, DatabaseEngine, DbErrorClass, EngineConnection, Statement, StatementResult, TlsOptions } from './engines/engine';
import { logLevelAllows } from './log-level';
import { AuditLog, AuditRecord, CallComments, CallTracer, Observer, principalOf, XRayCallTracer } from './observability';
import type { PageRequest } from './page-request';
import type * as Paging from './paging';
import { collectParameters } from './params';
import { HttpResponse, Problem, problemResponse, SECURITY_HEADERS } from './problem';
import { bodyProblem, decodeJsonBody, PublicEvent, queryParameters } from './request';
import { BoundValue } from '../shared/params';
import { sealedQueries } from '../shared/sealed-config';

/** The subset of the Lambda context the handler reads. */
export interface InvocationContext {
  readonly awsRequestId?: string;
}

export interface HandlerStats {
  /** Database connections opened since the handler was created. */
  connectionsOpened: number;
  /** Calls answered. */
  calls: number;
}

/** Structured operational log line. Never receives parameter values or driver messages with data. */
export type LogSink = (entry: Record<string, unknown>) => void;

export interface QueryHandlerOptions {
  readonly config: RuntimeConfig;
  readonly engine: DatabaseEngine;
  readonly credentials: CredentialsProvider;
  /** PEM CA text for TLS verification (the file named by `connection.tls.caFile`). */
  readonly tlsCa?: string;
  readonly log?: LogSink;
  /** Audit records and metrics. Default: {@link AuditLog} on stdout. */
  readonly observer?: Observer;
  /** X-Ray subsegment around the database call. Default: {@link XRayCallTracer}. */
  readonly tracer?: CallTracer;
  /**
   * The signing key of paged queries' cursors, read when a paged query first needs it. Default: the
   * process's key ({@link processCursorKey}), which only a single process can use (the development server).
   */
  readonly cursorKey?: CursorKeySource;
  /**
   * The configuration is the file the construct checked and sealed (src/shared/sealed-config.ts): its
   * queries are taken as compiled there, not checked and compiled again. Default false.
   */
  readonly sealed?: boolean;
}

/** What a call of a query answers: its rows, and for a paged query the cursor of the next page. */
export interface QueryResult extends StatementResult {
  /** The cursor of the next page (paged queries with more rows only). */
  readonly nextCursor?: string;
}

/** The route of requests that matched no query, in audit records and metrics. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Who calls a query by name (the GraphQL endpoint), and how the call is labelled in the audit. */
export interface InvokeContext {
  readonly claims?: Claims;
  readonly requestId?: string;
  readonly apiRequestId?: string;
  readonly principal: string;
  /** The audit record's and metrics' route, e.g. `graphql:ordersById` (a fixed set, never request text). */
  readonly route: string;
}

/** What one call learned and answered, for its audit record. */
interface AuditInput {
  readonly requestId?: string;
  readonly apiRequestId?: string;
  readonly principal: string;
  /** The raw request line, for requests that matched no query. */
  readonly request?: string;
  /** Overrides the query's own route (GraphQL fields). */
  readonly route?: string;
  readonly call: CallState;
  readonly status: number;
  readonly outcome: string;
  readonly started: bigint;
}

/** What one call learned, for its audit record. */
interface CallState {
  query?: PreparedQuery;
  values?: Record<string, BoundValue>;
  result?: QueryResult;
}

export class QueryHandler {
  readonly stats: HandlerStats = { connectionsOpened: 0, calls: 0 };
  private readonly prepared: PreparedQuery[];
  private readonly byResource = new Map<string, PreparedQuery>();
  private readonly byName = new Map<string, PreparedQuery>();
  private readonly maxBodyBytes: number;
  private readonly tls: TlsOptions | undefined;
  private readonly log: LogSink;
  private readonly observer: Observer;
  private readonly tracer: CallTracer;
  private conn?: EngineConnection;
  private connecting?: Promise<EngineConnection>;
  private readonly cursorKey: CursorKeySource;
  private readonly comments = new CallComments();

  constructor(private readonly options: QueryHandlerOptions) {
    this.prepared = (options.sealed ? sealedQueries(options.config) : undefined) ?? checkedQueries(options.config);
    for (const q of this.prepared) {
      this.byResource.set(routeOf(q), q);
      this.byName.set(q.name, q);
    }
    this.maxBodyBytes = options.config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const tls = options.config.connection.tls;
    this.tls = tls.enabled ? { ca: options.tlsCa, servername: tls.servername } : undefined;
    if (options.credentials.kind === 'iam' && !tls.enabled) {
      throw new Error('IAM authentication tokens are only sent over TLS: set connection.tls.enabled');
    }
    this.log = options.log ?? ((entry) => {
      if (logLevelAllows(String(entry.level ?? 'INFO'))) console.log(JSON.stringify(entry));
    });
    this.observer = options.observer ?? new AuditLog(undefined, undefined, (audit) => {
      this.log({ level: 'ERROR', message: 'audit record could not be written', requestId: audit.requestId });
    });
    this.tracer = options.tracer ?? new XRayCallTracer();
    this.cursorKey = options.cursorKey ?? processCursorKey();
  }

  /** Handles one API Gateway REST proxy event. Never throws; writes one audit record. */
  async handle(event: PublicEvent, context: InvocationContext = {}): Promise<HttpResponse> {
    const started = process.hrtime.bigint();
    const requestId = context.awsRequestId ?? event.requestContext?.requestId;
    const principal = principalOf(event.requestContext);
    const call: CallState = {};
    this.stats.calls++;
    let response: HttpResponse;
    let outcome = 'success';
    try {
      call.query = this.route(event);
      const claims = claimsOf(event.requestContext);
      const query = call.query;
      authorize(query, claims);
      const queryString = queryParameters(event);
      const input = () => ({ path: this.pathParameters(event, query), query: queryString, body: this.parseBody(event) });
      if (query.pagination) {
        const { restPageRequest, withPageErrors, nextLink } = paging();
        const page = restPageRequest(query, queryString);
        const paged = withPageErrors(page, () => collectParameters(query, input()));
        call.values = paged.values;
        call.result = await this.runPage(query, call.values, paged.request, claims, routeOf(query), requestId, principal);
        response = success(query, call.result, nextLink(event, call.result.nextCursor, paged.request.limitText));
      } else {
        call.values = collectParameters(query, input());
        call.result = await this.run(query, call.values, claims, routeOf(query), requestId, principal);
        response = success(query, call.result);
      }
    } catch (e) {
      const problem = this.asProblem(e, requestId);
      outcome = problem.kind;
      response = problemResponse(problem, requestId);
    }
    const request = call.query ? undefined : `${event.httpMethod ?? ''} ${event.path ?? ''}`.slice(0, 200);
    this.audit({ requestId, apiRequestId: event.requestContext?.requestId, principal, request, call, status: response.statusCode, outcome, started });
    return response;
  }

  /** The queries this handler serves. */
  queries(): readonly PreparedQuery[] {
    return this.prepared;
  }

  /**
   * Runs the query `name` with already typed arguments (the GraphQL endpoint), validated and bound exactly
   * as a REST call's. Throws a Problem on failure; writes one audit record either way.
   */
  async invoke(name: string, args: Readonly<Record<string, unknown>>, context: InvokeContext): Promise<QueryResult> {
    const started = process.hrtime.bigint();
    const call: CallState = {};
    this.stats.calls++;
    let status = 200;
    let outcome = 'success';
    try {
      const query = this.byName.get(name);
      if (!query) throw new Problem('not-found', 'No query has this name');
      call.query = query;
      authorize(query, context.claims);
      const path: Record<string, string> = {};
      const queryString: Record<string, string[]> = {};
      const body: Record<string, unknown> = {};
      for (const p of query.parameters) {
        const v = args[p.name];
        if (v === undefined || v === null) continue;
        if (p.in === 'path') path[p.name] = String(v);
        else if (p.in === 'query') queryString[p.name] = [String(v)];
        else body[p.name] = v;
      }
      const hasBody = query.parameters.some((p) => p.in === 'body');
      const collect = () => collectParameters(query, { path, query: queryString, body: hasBody ? body : undefined });
      if (query.pagination) {
        const { graphqlPageRequest, withPageErrors } = paging();
        const page = graphqlPageRequest(query, args);
        const paged = withPageErrors(page, collect);
        call.values = paged.values;
        call.result = await this.runPage(query, call.values, paged.request, context.claims, context.route, context.requestId, context.principal);
      } else {
        call.values = collect();
        call.result = await this.run(query, call.values, context.claims, context.route, context.requestId, context.principal);
      }
      return call.result;
    } catch (e) {
      const problem = this.asProblem(e, context.requestId);
      status = problem.status;
      outcome = problem.kind;
      throw problem;
    } finally {
      const { requestId, apiRequestId, principal, route } = context;
      this.audit({ requestId, apiRequestId, principal, route, call, status, outcome, started });
    }
  }

  /** A Problem as it is; anything else is logged (name only) and answered as an internal error. */
  private asProblem(e: unknown, requestId: string | undefined): Problem {
    if (e instanceof Problem) return e;
    this.log({ level: 'ERROR', message: 'unexpected handler error', requestId, errorName: (e as Error)?.name });
    return new Problem('internal', 'An internal error occurred. Quote the instance when reporting it.');
  }

  private run(
    query: PreparedQuery,
    values: Record<string, BoundValue>,
    claims: Claims | undefined,
    route: string,
    requestId: string | undefined,
    principal: string,
    page?: (bound: readonly BoundValue[]) => PageStatement,
  ): Promise<StatementResult> {
    // Claims come from the verified token only; parameter names cannot contain the dot of `claims.x`.
    const claimed = claimValues(query, claims);
    const bound = claimed === undefined ? values : { ...values, ...claimed };
    const settings = this.options.config.rlsClaims ? { 'request.jwt.claims': JSON.stringify(claims ?? {}) } : undefined;
    const comment = this.comments.comment(route, requestId, principal);
    return this.tracer.trace('database', { route, query: query.name, access: query.access }, () => this.execute(query, bound, comment, settings, page));
  }

  /**
   * One page of a paged query: the cursor verified (a 400 `invalid-cursor` problem otherwise), `limit + 1`
   * rows after it, and the next page's cursor when the extra row exists.
   */
  private async runPage(
    query: PreparedQuery,
    values: Record<string, BoundValue>,
    page: PageRequest,
    claims: Claims | undefined,
    route: string,
    requestId: string | undefined,
    principal: string,
  ): Promise<QueryResult> {
    const { readCursor, pageStatement, withoutHidden, orderingValues, issueCursor } = paging();
    const ctx = { query, values, principal };
    let after: CursorValue[] | undefined;
    if (page.cursor !== undefined) after = readCursor(await this.signingKey(requestId), ctx, page.cursor, page.cursorName);
    const dialect = this.options.config.engine === 'postgres' ? 'postgres' : 'mysql';
    const statement = (bound: readonly BoundValue[]) => pageStatement(query, dialect, bound, page.limit, after);
    const result = await this.run(query, values, claims, route, requestId, principal, statement);
    // The rows as the query answers them, without the ordering columns' texts the cursor is made of.
    const rows = result.rows.slice(0, page.limit).map(withoutHidden);
    if (result.rows.length <= page.limit) return { rows, truncated: false };
    const last = result.rows[page.limit - 1];
    const extra = result.rows[page.limit];
    if (JSON.stringify(orderingValues(query, last)) === JSON.stringify(orderingValues(query, extra))) {
      // The next page would start after both rows: the rows that share these values would be skipped.
      this.log({ level: 'ERROR', message: 'paged query: two rows have the same values in every ordering column; add a unique column to orderBy', query: query.name, requestId });
      throw new Problem('internal', 'An internal error occurred. Quote the instance when reporting it.');
    }
    let nextCursor: string;
    try {
      nextCursor = issueCursor(await this.signingKey(requestId), ctx, last);
    } catch (e) {
      if (e instanceof Problem) throw e;
      this.log({ level: 'ERROR', message: 'paged query: no cursor for the next page', query: query.name, requestId, errorName: (e as Error)?.name, reason: (e as Error)?.message });
      throw new Problem('internal', 'An internal error occurred. Quote the instance when reporting it.');
    }
    return { rows, truncated: true, nextCursor };
  }

  /** The cursor signing key; a 503 when it cannot be read (it is read again on the next call). */
  private async signingKey(requestId: string | undefined): Promise<Uint8Array> {
    try {
      return await this.cursorKey();
    } catch (e) {
      this.log({ level: 'ERROR', message: 'the cursor signing key cannot be read', requestId, errorName: (e as Error)?.name });
      throw new Problem('unavailable', 'The paging key cannot be read right now. Retry later.', { retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
  }

  private audit(a: AuditInput): void {
    const q = a.call.query;
    const result = a.call.result;
    const values = a.call.values;
    // One literal, without the copies spreading would make: a field left undefined is not written (JSON).
    const record: AuditRecord = {
      requestId: a.requestId,
      apiRequestId: a.apiRequestId,
      principal: a.principal,
      // Unmatched requests share one route value: a raw path would give callers control of metric dimensions.
      route: a.route ?? (q ? routeOf(q) : UNMATCHED_ROUTE),
      request: q ? undefined : a.request,
      query: q?.name,
      access: q?.access,
      durationMs: Number(process.hrtime.bigint() - a.started) / 1e6,
      rowCount: result?.rows.length,
      affectedRows: result?.affectedRows,
      status: a.status,
      outcome: a.outcome,
      parameters: values ? auditedParameters(q, values) : undefined,
    };
    try {
      this.observer.record(record);
    } catch {
      this.log({ level: 'ERROR', message: 'audit record could not be written', requestId: a.requestId });
    }
  }

  /** Closes the database connection (tests, graceful shutdown). */
  async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    await c?.close();
  }

  /** The access level of the query an event is for; undefined when it matches none (answered 404 or 405). */
  accessOf(event: PublicEvent): 'read' | 'write' | undefined {
    try {
      return this.route(event).access;
    } catch {
      return undefined;
    }
  }

  private route(event: PublicEvent): PreparedQuery {
    // HTTP methods are case-sensitive (RFC 9110): `get` is not GET.
    const method = event.httpMethod ?? '';
    const direct = event.resource ? this.byResource.get(`${method} ${event.resource}`) : undefined;
    if (direct) return direct;
    const path = event.path ?? '';
    const matching = this.prepared.filter((q) => q.pathPattern.test(path));
    const hit = matching.find((q) => q.method === method);
    if (hit) return hit;
    if (matching.length > 0) {
      throw new Problem('method-not-allowed', `${method || 'This method'} is not allowed on this route`, { allow: [...new Set(matching.map((q) => q.method))] });
    }
    throw new Problem('not-found', 'No query is published at this route');
  }

  private pathParameters(event: PublicEvent, query: PreparedQuery): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = Object.create(null);
    if (event.resource === query.path) {
      // API Gateway matched this resource and parsed its parameters (none: `pathParameters` is null).
      if (event.pathParameters) return Object.assign(out, event.pathParameters);
      if (query.pathParameterNames.length === 0) return out;
    }
    // Matched by path (local server, or a proxy resource): decode each segment ourselves.
    const m = query.pathPattern.exec(event.path ?? '');
    query.pathParameterNames.forEach((name, i) => {
      const raw = m?.[i + 1];
      if (raw === undefined) return;
      try {
        out[name] = decodeURIComponent(raw);
      } catch {
        throw new Problem('validation', 'The path is not valid percent-encoded UTF-8', { errors: [{ name, in: 'path', reason: 'is not valid percent-encoding' }] });
      }
    });
    return out;
  }

  private parseBody(event: PublicEvent): Record<string, unknown> | undefined {
    const parsed = decodeJsonBody(event, this.maxBodyBytes);
    if (parsed === undefined) return undefined;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bodyProblem('must be a JSON object');
    return parsed as Record<string, unknown>;
  }

  private execute(
    query: PreparedQuery,
    values: Record<string, BoundValue>,
    comment: string,
    settings: Record<string, string> | undefined,
    page?: (bound: readonly BoundValue[]) => PageStatement,
  ): Promise<StatementResult> {
    const bound = query.compiled.valueOrder.map((name) => values[name] ?? null);
    // A page: the query's SQL inside the keyset statement, one row more than the page (is there a next one?).
    const sql = page
      ? page(bound)
      : { text: query.compiled.text, values: bound, placeholders: query.compiled.placeholders, rowLimit: query.rowLimit };
    const statement: Statement = {
      settings,
      // A newline first, so a trailing line comment in the SQL cannot swallow it.
      text: comment ? `${sql.text}\n${comment}` : sql.text,
      values: sql.values,
      placeholders: sql.placeholders,
      access: query.access,
      rowLimit: page ? sql.rowLimit + 1 : sql.rowLimit,
      timeoutMs: query.timeoutMs,
    };
    // The warm connection without a detour through the connecting path (no async frame, one promise less per call).
    const conn = this.conn;
    if (conn && !conn.broken) return conn.run(statement).then(undefined, (e: unknown) => this.failed(e, conn, statement, query));
    return this.attempt(query, statement, 0);
  }

  /** Runs the statement on the connection (opened if need be); `attempt` 1 is the one repeat a failure allows. */
  private async attempt(query: PreparedQuery, statement: Statement, attempt: number): Promise<StatementResult> {
    const conn = this.conn && !this.conn.broken ? this.conn : await this.connection(query);
    try {
      return await conn.run(statement);
    } catch (e) {
      return this.failed(e, conn, statement, query, attempt);
    }
  }

  /**
   * A failed statement: repeated once on a new connection when the connection broke and repeating is safe,
   * otherwise answered as the problem its error class is.
   */
  private failed(e: unknown, conn: EngineConnection, statement: Statement, query: PreparedQuery, attempt = 0): Promise<StatementResult> {
    const cls = this.options.engine.classify(e);
    // Reads are safe to repeat; a write only when the driver never sent it.
    const safeToRepeat = query.access === 'read' || (e as { statementNotSent?: boolean }).statementNotSent === true;
    if (cls === 'connection' && attempt === 0 && safeToRepeat) {
      this.discard(conn);
      return this.attempt(query, statement, 1);
    }
    if (cls === 'connection' || cls === 'timeout') this.discard(conn);
    // A write that may have reached the server and then lost its connection, or outlived the client's own
    // deadline, may have been applied: that is a problem of its own, not "unavailable" or "timeout"
    // (a server-side timeout cancels the statement and rolls it back).
    const reached = (e as { statementNotSent?: boolean }).statementNotSent !== true;
    if (query.access === 'write' && reached && (cls === 'connection' || e instanceof ClientTimeoutError)) {
      return Promise.reject(this.outcomeUnknown(cls, e, query));
    }
    return Promise.reject(this.problemFor(cls, e, query));
  }

  private discard(conn: EngineConnection): void {
    if (this.conn === conn) this.conn = undefined;
    conn.close().catch(() => undefined);
  }

  private async connection(query: PreparedQuery): Promise<EngineConnection> {
    if (this.conn && !this.conn.broken) return this.conn;
    if (this.conn) this.discard(this.conn);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    try {
      this.conn = await this.connecting;
      return this.conn;
    } catch (e) {
      const cls = this.options.engine.classify(e);
      throw this.problemFor(cls === 'internal' || cls === 'auth' ? 'connection' : cls, e, query);
    }
  }

  private async open(): Promise<EngineConnection> {
    const c = this.options.config.connection;
    for (let attempt = 0; ; attempt++) {
      const credentials = await this.options.credentials.get();
      try {
        this.stats.connectionsOpened++;
        return await this.options.engine.connect({
          host: c.host,
          port: c.port,
          database: c.database,
          credentials,
          iamAuth: this.options.credentials.kind === 'iam',
          tls: this.tls,
          connectTimeoutMs: c.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        });
      } catch (e) {
        // A rotated secret or an expired token: read the credentials again, once.
        if (attempt === 0 && this.options.engine.classify(e) === 'auth') {
          this.options.credentials.invalidate();
          continue;
        }
        throw e;
      }
    }
  }

  private outcomeUnknown(cls: DbErrorClass, error: unknown, query: PreparedQuery): Problem {
    logDatabaseError(this.log, cls, error, query);
    return writeOutcomeUnknown(cls, query);
  }

  private problemFor(cls: DbErrorClass, error: unknown, query: PreparedQuery): Problem {
    logDatabaseError(this.log, cls, error, query);
    return databaseProblem(cls, query);
  }
}

/** The paging module, once a paged query first needs it. */
let pagingModule: typeof Paging | undefined;

/**
 * Keyset pagination: the page a call asks for, the keyset statement and the cursors. Required here, not
 * imported: in the REST query functions' bundles it is a file of its own beside index.js
 * (scripts/bundle-runtime.js), which V8 then parses only in a function that serves a paged query, at its first call.
 */
function paging(): typeof Paging {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  pagingModule ??= require('./paging') as typeof Paging;
  return pagingModule;
}

/**
 * Every query of a configuration checked and compiled (a ConfigError lists every problem). Required here, not
 * imported: in the REST query functions' bundles the checks are a file of their own beside index.js
 * (scripts/bundle-runtime.js), which V8 then parses only for a configuration that is not sealed.
 */
function checkedQueries(config: RuntimeConfig): PreparedQuery[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { prepareConfig } = require('./config-check') as typeof ConfigCheck;
  return prepareConfig(config);
}

/** The values of a call's parameters that are not marked sensitive, for its audit record. */
function auditedParameters(query: PreparedQuery | undefined, values: Record<string, BoundValue>): Record<string, BoundValue> {
  const parameters: Record<string, BoundValue> = {};
  if (query) for (const p of query.parameters) if (!p.sensitive) parameters[p.name] = values[p.name];
  return parameters;
}

/** The route as API Gateway names it: `GET /orders/{id}`. */
const routeOf = (q: PreparedQuery): string => `${q.method} ${q.path}`;

function success(query: PreparedQuery, result: QueryResult, next?: string): HttpResponse {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': 'application/json' };
  if (query.single) {
    if (result.rows.length === 0) throw new Problem('not-found', 'No row matches the request');
    return { statusCode: 200, headers, body: JSON.stringify({ data: result.rows[0] }) };
  }
  const meta: Record<string, unknown> = { rowCount: result.rows.length, truncated: result.truncated };
  if (result.affectedRows !== undefined) meta.affectedRows = result.affectedRows;
  if (!query.pagination) return { statusCode: 200, headers, body: JSON.stringify({ data: result.rows, meta }) };
  meta.nextCursor = result.nextCursor ?? null;
  if (next) headers.link = `<${next}>; rel="next"`;
  return { statusCode: 200, headers, body: JSON.stringify({ data: result.rows, meta, links: { next: next ?? null } }) };
}

/**
 * The runtime configuration: what the construct writes as `config.json` into each function's asset,
 * and what the handler loads at cold start. Pure data and validation, no driver imports, so the
 * construct can run the same checks at synth time.
 */
import { codeOf, compileTokens, CompiledSql, SqlCompileError, SqlDialect, SqlToken, tokenizeSql } from './named-parameters';
import { paginationProblems } from './pagination';
import { coerceDefault } from './params';

export const CONFIG_VERSION = 1;

export type EngineName = 'postgres' | 'mysql' | 'mariadb' | 'sqlserver';
export type AccessLevel = 'read' | 'write';
export type ParameterType = 'string' | 'integer' | 'number' | 'boolean' | 'uuid' | 'date-time' | 'enum';
export type ParameterSource = 'path' | 'query' | 'body';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ParameterConfig {
  readonly name: string;
  readonly type: ParameterType;
  readonly in: ParameterSource;
  /** Path parameters are always required. Default: true unless a default is given. */
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  /** string: length in characters (Unicode code points). */
  readonly minLength?: number;
  /** string: default {@link DEFAULT_MAX_STRING_LENGTH}. */
  readonly maxLength?: number;
  /** string: a regular expression the WHOLE value must match. */
  readonly pattern?: string;
  /** integer, number */
  readonly minimum?: number;
  readonly maximum?: number;
  /** enum */
  readonly values?: readonly string[];
  /** Never logged or echoed. */
  readonly sensitive?: boolean;
  readonly description?: string;
}

/** Type of a result column (for the GraphQL schema and the OpenAPI document). */
export type ColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'date-time' | 'uuid' | 'json';

export interface ColumnConfig {
  readonly name: string;
  readonly type: ColumnType;
  /** Default true. */
  readonly nullable?: boolean;
  readonly description?: string;
}

export interface QueryConfig {
  readonly name: string;
  readonly method: HttpMethod;
  /** API Gateway style path template, e.g. `/orders/{id}`. */
  readonly path: string;
  readonly sql: string;
  readonly access: AccessLevel;
  readonly parameters: readonly ParameterConfig[];
  /** Most rows returned; more are cut off and `meta.truncated` is true. */
  readonly rowLimit: number;
  /** Statement timeout in milliseconds. */
  readonly timeoutMs: number;
  /** The result is one row: no row is a 404. */
  readonly single?: boolean;
  /** OAuth scopes the verified token must all carry (checked again here after the gateway). */
  readonly requiredScopes?: readonly string[];
  /** Groups (`cognito:groups` or `groups`) of which the caller must be in at least one. */
  readonly requiredGroups?: readonly string[];
  /** The result's columns, declared (GraphQL result types, OpenAPI response schemas). */
  readonly columns?: readonly ColumnConfig[];
  /** Keyset pagination (read, non-single queries): `limit` and `cursor` parameters, `meta.nextCursor`. */
  readonly pagination?: PaginationConfig;
}

/** One column of a paged query's order. */
export interface OrderColumnConfig {
  readonly column: string;
  /** Default false. */
  readonly descending?: boolean;
}

/** Keyset pagination of a list query. */
export interface PaginationConfig {
  /** The order of the pages; together the columns identify a row (a unique column last). */
  readonly orderBy: readonly OrderColumnConfig[];
  /** How long a cursor is accepted after it was issued. */
  readonly cursorLifetimeSeconds: number;
}

/** Where the cursor signing key is read from (functions and tasks that serve paged queries). */
export interface CursorKeyConfig {
  /** The Secrets Manager secret (its ARN), whose string value is the key. May be `${env:NAME}`. */
  readonly secretArn: string;
}

export type CredentialsConfig =
  | { readonly type: 'iam'; readonly region: string }
  /** For local development and tests only: never written by the construct. */
  | { readonly type: 'static'; readonly password: string };

export interface TlsConfig {
  /** Verify the server certificate and host name. Default true; false only for local development. */
  readonly enabled: boolean;
  /** PEM file with extra trusted CAs (e.g. the RDS CA bundle for direct instance connections). */
  readonly caFile?: string;
  /** Host name to verify, when it differs from `host`. */
  readonly servername?: string;
}

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly credentials: CredentialsConfig;
  readonly tls: TlsConfig;
  /** Default 5000. */
  readonly connectTimeoutMs?: number;
}

export interface RuntimeConfig {
  readonly version: number;
  readonly engine: EngineName;
  readonly connection: ConnectionConfig;
  readonly queries: readonly QueryConfig[];
  /** Largest accepted request body in bytes. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  readonly maxBodyBytes?: number;
  /**
   * PostgreSQL: set the verified claims as `request.jwt.claims` for each call's transaction
   * (`set_config(…, true)`), so row-level security policies can use them. Default false.
   */
  readonly rlsClaims?: boolean;
  /** The GraphQL endpoint (GraphQL function only). */
  readonly graphql?: GraphqlConfig;
  /**
   * GraphQL function only: the writer's connection; `connection` is then the reader's. Mutations run
   * as the writer, queries as the reader.
   */
  readonly writeConnection?: ConnectionConfig;
  /**
   * Writes sent with an Idempotency-Key header run at most once per caller and key (REST functions and the
   * container backend). The table name may be `${env:NAME}`.
   */
  readonly idempotency?: IdempotencyConfig;
  /**
   * The cursor signing key of paged queries. Absent: the key of the process (`SECURE_DB_API_CURSOR_KEY`, or
   * random bytes), which only a single process (the development server) can use.
   */
  readonly cursorKey?: CursorKeyConfig;
  /**
   * Each query's compiled form, in the order of `queries`, as the construct computed it when it checked them
   * (src/shared/sealed-config.ts). Read only when the file is the one the construct wrote, which its SHA-256
   * tells; any other file is checked and compiled in full, this section ignored.
   */
  readonly compiled?: readonly CompiledQueryConfig[];
}

/** A checked query's compiled form: its SQL's placeholders and its path template's matcher. */
export interface CompiledQueryConfig {
  readonly sql: CompiledSql;
  /** The source of the path template's regular expression (no flags). */
  readonly pathPattern: string;
  readonly pathParameterNames: readonly string[];
}

export interface IdempotencyConfig {
  /** The DynamoDB table: partition key `id` (string), TTL attribute `expiration`. */
  readonly tableName: string;
  /** How long a key's outcome is kept, in seconds. */
  readonly expiresAfterSeconds: number;
}

export interface GraphqlConfig {
  /** The route's path, e.g. `/graphql`. */
  readonly path: string;
  readonly maxDepth: number;
  readonly maxComplexity: number;
  readonly introspection: boolean;
  /** Allowed documents by SHA-256 (hex) of their text, for automatic persisted queries. */
  readonly persistedQueries?: Readonly<Record<string, string>>;
  /** Only documents in persistedQueries run. */
  readonly persistedOnly?: boolean;
}

/** SQL parameters named `claims.<name>` take the verified token's claim, never a request value. */
export const CLAIMS_PREFIX = 'claims.';
/** A claim's name: a word, or words joined by `:` (Cognito's `custom:tenant_id`, `cognito:username`). */
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)*$/;

export const DEFAULT_MAX_STRING_LENGTH = 4096;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const MAX_ROW_LIMIT = 10_000;
export const MAX_TIMEOUT_MS = 29_000;

/** A query ready to run: validated definition plus its compiled SQL. */
export interface PreparedQuery extends QueryConfig {
  readonly compiled: CompiledSql;
  readonly pathPattern: RegExp;
  readonly pathParameterNames: readonly string[];
  readonly patterns: ReadonlyMap<string, RegExp>;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid query configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

export function dialectOf(engine: EngineName): SqlDialect {
  return engine === 'postgres' ? 'postgres' : engine === 'sqlserver' ? 'sqlserver' : 'mysql';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PATH_SEGMENT = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/;
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const TYPES: readonly ParameterType[] = ['string', 'integer', 'number', 'boolean', 'uuid', 'date-time', 'enum'];
const SOURCES: readonly ParameterSource[] = ['path', 'query', 'body'];
const COLUMN_TYPES: readonly ColumnType[] = ['string', 'integer', 'number', 'boolean', 'date-time', 'uuid', 'json'];

/** Two templates that differ only in parameter names (or a trailing slash) are the same route. */
export function routeKeyOf(method: string, path: string): string {
  return `${method} ${String(path).replace(/\{[^}]*\}/g, '{}').replace(/\/$/, '')}`;
}

/** Parses a path template into a matcher. Throws on malformed templates. */
export function parsePathTemplate(path: string): { pattern: RegExp; names: string[] } {
  if (!path.startsWith('/')) throw new Error(`path "${path}" must start with "/"`);
  const segments = path === '/' ? [] : path.slice(1).split('/');
  const names: string[] = [];
  const parts = segments.map((seg) => {
    if (!PATH_SEGMENT.test(seg)) throw new Error(`path "${path}" has an invalid segment "${seg}"`);
    if (seg.startsWith('{')) {
      const name = seg.slice(1, -1);
      if (names.includes(name)) throw new Error(`path "${path}" repeats {${name}}`);
      names.push(name);
      return '([^/]+)';
    }
    return seg.replace(/[.~-]/g, '\\$&');
  });
  return { pattern: new RegExp(`^/${parts.join('/')}/?$`), names };
}

/** Statement keywords a read query must not contain (best effort; comments and literals are ignored). */
const WRITE_KEYWORDS = /\b(insert|update|delete|merge|upsert|truncate|drop|alter|create|grant|revoke|call|copy|lock|vacuum|set|into)\b/i;

/** Returns the write keyword found in a read query's code, if any. */
/** A statement that changes data and, without RETURNING, answers no rows (a CTE's final statement included). */
const DATA_CHANGE_WITHOUT_ROWS = /^\s*(?:\(\s*)*(?:with\b[\s\S]*\)\s*)?(?:insert|update|delete|merge|replace)\b/i;

export function findWriteKeyword(code: string): string | undefined {
  const m = WRITE_KEYWORDS.exec(code);
  return m ? m[1].toUpperCase() : undefined;
}

function checkParameter(q: string, p: ParameterConfig, problems: string[]): void {
  const where = `query "${q}" parameter "${p.name}"`;
  if (typeof p.name !== 'string' || !NAME.test(p.name)) problems.push(`${where}: name must match ${NAME}`);
  if (!TYPES.includes(p.type)) problems.push(`${where}: type must be one of ${TYPES.join(', ')}`);
  if (!SOURCES.includes(p.in)) problems.push(`${where}: "in" must be one of ${SOURCES.join(', ')}`);
  if (p.in === 'path' && (p.required === false || p.default !== undefined)) {
    problems.push(`${where}: path parameters are always required and cannot have a default`);
  }
  const nonNegInt = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
  if (!nonNegInt(p.minLength) || !nonNegInt(p.maxLength)) problems.push(`${where}: minLength/maxLength must be whole numbers >= 0`);
  if (p.minLength !== undefined && p.maxLength !== undefined && p.minLength > p.maxLength) {
    problems.push(`${where}: minLength ${p.minLength} is greater than maxLength ${p.maxLength}`);
  }
  if ((p.minLength !== undefined || p.maxLength !== undefined || p.pattern !== undefined) && p.type !== 'string') {
    problems.push(`${where}: minLength, maxLength and pattern apply to string parameters only`);
  }
  if ((p.minimum !== undefined || p.maximum !== undefined) && p.type !== 'integer' && p.type !== 'number') {
    problems.push(`${where}: minimum and maximum apply to integer and number parameters only`);
  }
  for (const [k, v] of [['minimum', p.minimum], ['maximum', p.maximum]] as const) {
    if (v !== undefined && !Number.isFinite(v)) problems.push(`${where}: ${k} must be a finite number`);
  }
  if (p.minimum !== undefined && p.maximum !== undefined && p.minimum > p.maximum) {
    problems.push(`${where}: minimum ${p.minimum} is greater than maximum ${p.maximum}`);
  }
  if (p.pattern !== undefined) {
    try {
      new RegExp(p.pattern, 'u');
    } catch (e) {
      problems.push(`${where}: pattern is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  if (p.type === 'enum') {
    if (!Array.isArray(p.values) || p.values.length === 0 || p.values.some((v) => typeof v !== 'string')) {
      problems.push(`${where}: enum parameters need a non-empty list of string values`);
    } else if (new Set(p.values).size !== p.values.length) {
      problems.push(`${where}: enum values must be unique`);
    }
  } else if (p.values !== undefined) {
    problems.push(`${where}: values apply to enum parameters only`);
  }
}

/**
 * Validates a configuration and compiles every query. All problems are reported at once.
 * Defaults of parameters are validated by the caller (they need the coercion rules).
 */
export function prepareConfig(config: RuntimeConfig): PreparedQuery[] {
  const problems: string[] = [];
  if (config === null || typeof config !== 'object') throw new ConfigError(['configuration must be an object']);
  if (config.version !== CONFIG_VERSION) problems.push(`version must be ${CONFIG_VERSION}, got ${String(config.version)}`);
  if (!['postgres', 'mysql', 'mariadb', 'sqlserver'].includes(config.engine)) problems.push('engine must be one of postgres, mysql, mariadb, sqlserver');
  if (config.rlsClaims && config.engine !== 'postgres') problems.push('rlsClaims is for PostgreSQL row-level security only');
  if (config.idempotency !== undefined) {
    const { tableName, expiresAfterSeconds } = config.idempotency;
    if (typeof tableName !== 'string' || tableName === '') problems.push('idempotency.tableName must be a table name');
    if (!Number.isSafeInteger(expiresAfterSeconds) || expiresAfterSeconds < 1) problems.push('idempotency.expiresAfterSeconds must be a positive whole number');
  }
  if (config.cursorKey !== undefined && (typeof config.cursorKey?.secretArn !== 'string' || config.cursorKey.secretArn === '')) {
    problems.push('cursorKey.secretArn must be a secret\'s ARN');
  }
  if (config.maxBodyBytes !== undefined && !(Number.isSafeInteger(config.maxBodyBytes) && config.maxBodyBytes > 0)) {
    problems.push('maxBodyBytes must be a positive whole number');
  }
  if (!Array.isArray(config.queries) || config.queries.length === 0) {
    throw new ConfigError([...problems, 'queries must be a non-empty list']);
  }
  const dialect = dialectOf(config.engine);
  const prepared: PreparedQuery[] = [];
  const routes = new Map<string, string>();
  /** Each query name and the route that has it. */
  const names = new Map<string, string>();

  for (const q of config.queries) {
    const label = `query "${q.name}"`;
    const before = problems.length;
    if (typeof q.name !== 'string' || !NAME.test(q.name)) problems.push(`${label}: name must match ${NAME}`);
    const holder = names.get(q.name);
    if (holder !== undefined) {
      problems.push(`${label}: duplicate query name: ${holder} has it too (names made from routes differ only in case or punctuation?); give one of them a name of its own`);
    } else {
      names.set(q.name, `${q.method} ${q.path}`);
    }
    if (!METHODS.includes(q.method)) problems.push(`${label}: method must be one of ${METHODS.join(', ')}`);
    if (q.access !== 'read' && q.access !== 'write') problems.push(`${label}: access must be read or write`);
    if (!Number.isSafeInteger(q.rowLimit) || q.rowLimit < 1 || q.rowLimit > MAX_ROW_LIMIT) {
      problems.push(`${label}: rowLimit must be a whole number from 1 to ${MAX_ROW_LIMIT}`);
    }
    if (!Number.isSafeInteger(q.timeoutMs) || q.timeoutMs < 1 || q.timeoutMs > MAX_TIMEOUT_MS) {
      problems.push(`${label}: timeoutMs must be a whole number from 1 to ${MAX_TIMEOUT_MS} (API Gateway's integration limit)`);
    }
    let template: { pattern: RegExp; names: string[] } | undefined;
    try {
      template = parsePathTemplate(q.path);
    } catch (e) {
      problems.push(`${label}: ${(e as Error).message}`);
    }
    const routeKey = routeKeyOf(q.method, q.path);
    if (routes.has(routeKey)) problems.push(`${label}: route ${q.method} ${q.path} is already used by query "${routes.get(routeKey)}"`);
    routes.set(routeKey, q.name);

    const params: readonly ParameterConfig[] = Array.isArray(q.parameters) ? q.parameters : [];
    if (!Array.isArray(q.parameters)) problems.push(`${label}: parameters must be a list`);
    const seen = new Set<string>();
    for (const p of params) {
      checkParameter(q.name, p, problems);
      if (seen.has(p.name)) problems.push(`${label}: parameter "${p.name}" is defined twice`);
      seen.add(p.name);
    }
    if (template) {
      for (const pn of template.names) {
        const def = params.find((p) => p.name === pn);
        if (!def) problems.push(`${label}: path parameter {${pn}} has no definition`);
        else if (def.in !== 'path') problems.push(`${label}: parameter "${pn}" is in the path but defined with in="${def.in}"`);
      }
      for (const p of params.filter((x) => x.in === 'path')) {
        if (!template.names.includes(p.name)) problems.push(`${label}: path parameter "${p.name}" does not appear in path ${q.path}`);
      }
    }
    for (const [key, list] of [['requiredScopes', q.requiredScopes], ['requiredGroups', q.requiredGroups]] as const) {
      if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x.length === 0 || /\s/.test(x)))) {
        problems.push(`${label}: ${key} must be a list of non-empty strings without spaces`);
      }
    }
    if (q.columns !== undefined) {
      const cols = Array.isArray(q.columns) ? q.columns : [];
      // A write may declare that it returns no columns (an UPDATE or DELETE without RETURNING): it answers its affected rows.
      if (!Array.isArray(q.columns)) problems.push(`${label}: columns must be a list`);
      else if (cols.length === 0 && q.access !== 'write') problems.push(`${label}: columns must list at least one column (only a write query can return none)`);
      const colNames = new Set<string>();
      for (const c of cols) {
        if (typeof c?.name !== 'string' || !NAME.test(c.name) || c.name.startsWith('__')) problems.push(`${label}: column name "${c?.name}" must match ${NAME} and not start with __`);
        else if (colNames.has(c.name)) problems.push(`${label}: column "${c.name}" is declared twice`);
        colNames.add(c?.name);
        if (!COLUMN_TYPES.includes(c?.type)) problems.push(`${label}: column "${c?.name}" type must be one of ${COLUMN_TYPES.join(', ')}`);
      }
    }
    if ((q.method === 'GET' || q.method === 'DELETE') && params.some((p) => p.in === 'body')) {
      problems.push(`${label}: ${q.method} requests have no body; use in="query" or in="path"`);
    }
    if (q.method === 'GET' && q.access === 'write') {
      problems.push(`${label}: a write query cannot be served at GET, which must not change data (caches, link prefetchers and retrying clients repeat it); use POST, PUT, PATCH or DELETE`);
    }

    // The SQL is read once: its placeholders and the code the checks below read come from the same tokens.
    let tokens: SqlToken[] | undefined;
    let unreadable: SqlCompileError | undefined;
    if (typeof q.sql === 'string') {
      try {
        tokens = tokenizeSql(q.sql, dialect);
      } catch (e) {
        if (!(e instanceof SqlCompileError)) throw e;
        unreadable = e;
      }
    }
    /** The SQL's code without literals and comments; undefined when it cannot be read. */
    const code = tokens ? codeOf(tokens) : undefined;
    let compiled: CompiledSql | undefined;
    if (typeof q.sql !== 'string' || q.sql.trim() === '') {
      problems.push(`${label}: sql must be a non-empty string`);
    } else if (unreadable) {
      problems.push(`${label}: ${unreadable.message}`);
    } else if (tokens) {
      compiled = compileTokens(tokens, dialect);
    }
    if (compiled && code !== undefined) {
      for (const used of compiled.names) {
        if (used.startsWith(CLAIMS_PREFIX)) {
          if (!CLAIM_NAME.test(used.slice(CLAIMS_PREFIX.length))) problems.push(`${label}: :${used} is not a valid claim reference (use :claims.<name>)`);
          continue;
        }
        if (!seen.has(used)) problems.push(`${label}: SQL uses :${used} but no parameter "${used}" is defined`);
      }
      for (const p of params) {
        if (!compiled.names.includes(p.name)) problems.push(`${label}: parameter "${p.name}" is defined but the SQL never uses :${p.name}`);
      }
      if (/;\s*\S/.test(code.replace(/;\s*$/, ''))) {
        problems.push(`${label}: sql must be a single statement`);
      }
      if (q.access === 'read' && dialect === 'postgres' && !/^\s*\(*\s*(select|with|values|table)\b/i.test(code)) {
        // PostgreSQL reads are wrapped as a subquery to apply the row limit on the server.
        problems.push(`${label}: a read query must be a SELECT, WITH, VALUES or TABLE statement`);
      }
      if (q.access === 'read') {
        const kw = findWriteKeyword(code);
        if (kw) problems.push(`${label}: read query contains ${kw}; declare access "write" for statements that change data`);
      }
      // A write that returns no row would answer 404 "no row matches" after it changed data.
      if (q.single === true && q.access === 'write' && DATA_CHANGE_WITHOUT_ROWS.test(code) && !/\breturning\b/i.test(code)) {
        problems.push(`${label}: single: true, but the statement returns no rows (add RETURNING, or leave single out: it answers its affected rows)`);
      }
    }
    problems.push(...paginationProblems(q, config.engine, code));
    if (problems.length === before && template && compiled) {
      const patterns = parameterPatterns(params);
      for (const p of params.filter((x) => x.default !== undefined)) {
        try {
          coerceDefault(p, patterns.get(p.name));
        } catch (e) {
          problems.push(`${label}: ${(e as Error).message}`);
        }
      }
      prepared.push({ ...q, compiled, pathPattern: template.pattern, pathParameterNames: template.names, patterns });
    }
  }
  problems.push(...pathVariableClashes(config.queries));
  if (problems.length > 0) throw new ConfigError(problems);
  return prepared;
}

/** Each parameter's `pattern` as the expression its whole value must match, by parameter name. */
export function parameterPatterns(params: readonly ParameterConfig[]): Map<string, RegExp> {
  const patterns = new Map<string, RegExp>();
  for (const p of params) if (p.pattern !== undefined) patterns.set(p.name, new RegExp(`^(?:${p.pattern})$`, 'u'));
  return patterns;
}

/**
 * API Gateway holds one path variable per position under a path: `/items/{sku}` and `/items/{id}` would be
 * two sibling variable resources, which the deployment refuses. One problem per position where two queries'
 * paths name different variables.
 */
function pathVariableClashes(queries: readonly QueryConfig[]): string[] {
  const named = new Map<string, { name: string; query: string }>();
  const problems: string[] = [];
  for (const q of queries) {
    if (typeof q.path !== 'string' || !q.path.startsWith('/')) continue;
    // Each variable's position is the path before it: `/a/b/{id}/c` has {id} under `/a/b`.
    for (let start = 1, end = 0; end !== -1 && start <= q.path.length; start = end + 1) {
      end = q.path.indexOf('/', start);
      if (q.path.charCodeAt(start) !== 0x7b) continue; // {
      const seg = q.path.slice(start, end === -1 ? undefined : end);
      const under = start === 1 ? '/' : q.path.slice(0, start - 1);
      const first = named.get(under);
      if (!first) {
        named.set(under, { name: seg, query: q.name });
      } else if (first.name !== seg) {
        problems.push(`query "${q.name}": path ${q.path} has ${seg} where query "${first.query}" has ${first.name} under ${under}: `
          + 'API Gateway allows one path variable per position under the same path; name it the same in both');
      }
    }
  }
  return problems;
}


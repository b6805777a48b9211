import { Duration } from 'aws-cdk-lib';
import type { Pagination } from './pagination';
import type { ParameterConfig, ParameterSource, ParameterType } from '../shared/config';

/** Who a query runs as: the read-only database user, or the writer. */
export enum AccessLevel {
  /** Runs as the read-only database user, in a read-only transaction. */
  READ = 'read',
  /** Runs as the writer database user. */
  WRITE = 'write',
}

/** Where a parameter is read from in the HTTP request. */
export enum ParameterLocation {
  /** A `{name}` segment of the route path. */
  PATH = 'path',
  /** The query string. */
  QUERY = 'query',
  /** A property of the JSON request body. */
  BODY = 'body',
}

/** Options every parameter type shares. */
export interface ParameterOptions {
  /**
   * Where the value comes from.
   * @default - PATH when the route has a `{name}` segment, QUERY for GET and DELETE routes, BODY otherwise
   */
  readonly location?: ParameterLocation;
  /**
   * Whether the request must carry the value. Optional parameters without a default bind SQL NULL.
   * @default true
   */
  readonly required?: boolean;
  /**
   * Never written to logs or audit records.
   * @default false
   */
  readonly sensitive?: boolean;
  /**
   * Shown in the API's request models.
   * @default - no description
   */
  readonly description?: string;
}

/** Options of a string parameter. */
export interface StringParameterOptions extends ParameterOptions {
  /**
   * Longest accepted value, in characters.
   * @default 4096
   */
  readonly maxLength?: number;
  /**
   * Shortest accepted value, in characters.
   * @default 0
   */
  readonly minLength?: number;
  /**
   * A regular expression the whole value must match.
   * @default - any text
   */
  readonly pattern?: string;
  /**
   * Used when the request does not carry the value.
   * @default - none
   */
  readonly defaultValue?: string;
}

/** Options of an integer or number parameter. */
export interface NumericParameterOptions extends ParameterOptions {
  /**
   * Smallest accepted value.
   * @default - no lower bound (integers: the safe integer range)
   */
  readonly minimum?: number;
  /**
   * Largest accepted value.
   * @default - no upper bound (integers: the safe integer range)
   */
  readonly maximum?: number;
  /**
   * Used when the request does not carry the value.
   * @default - none
   */
  readonly defaultValue?: number;
}

/** Options of a boolean parameter. */
export interface BooleanParameterOptions extends ParameterOptions {
  /**
   * Used when the request does not carry the value.
   * @default - none
   */
  readonly defaultValue?: boolean;
}

/** Options of an enumeration parameter. */
export interface EnumParameterOptions extends ParameterOptions {
  /**
   * Used when the request does not carry the value; must be one of the values.
   * @default - none
   */
  readonly defaultValue?: string;
}

/** A typed, validated parameter of a query, bound to the SQL's `:name`. */
export class QueryParameter {
  /** Text, limited in length (4096 characters unless set), optionally matched against a pattern. */
  public static string(name: string, options: StringParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'string', options, {
      maxLength: options.maxLength, minLength: options.minLength, pattern: options.pattern, default: options.defaultValue,
    });
  }

  /** A whole number in JavaScript's safe integer range. */
  public static integer(name: string, options: NumericParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'integer', options, { minimum: options.minimum, maximum: options.maximum, default: options.defaultValue });
  }

  /** A finite number. */
  public static number(name: string, options: NumericParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'number', options, { minimum: options.minimum, maximum: options.maximum, default: options.defaultValue });
  }

  /** `true` or `false`. */
  public static boolean(name: string, options: BooleanParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'boolean', options, { default: options.defaultValue });
  }

  /** A UUID in its canonical text form. */
  public static uuid(name: string, options: ParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'uuid', options, {});
  }

  /** An RFC 3339 date-time with a time zone offset. */
  public static dateTime(name: string, options: ParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'date-time', options, {});
  }

  /** One of a fixed list of strings. */
  public static enumeration(name: string, values: string[], options: EnumParameterOptions = {}): QueryParameter {
    return new QueryParameter(name, 'enum', options, { values: [...values], default: options.defaultValue });
  }

  private constructor(
    /** The name used as `:name` in SQL. */
    public readonly name: string,
    private readonly type: ParameterType,
    private readonly options: ParameterOptions,
    private readonly specific: Partial<ParameterConfig>,
  ) {}

  /**
   * The runtime definition of this parameter on a route.
   * @internal
   */
  public _toConfig(method: string, pathNames: readonly string[]): ParameterConfig {
    const location: ParameterSource = (this.options.location as ParameterSource | undefined)
      ?? (pathNames.includes(this.name) ? 'path' : method === 'GET' || method === 'DELETE' ? 'query' : 'body');
    const config: Record<string, unknown> = {
      name: this.name,
      type: this.type,
      in: location,
      ...(this.options.required !== undefined ? { required: this.options.required } : {}),
      ...(this.options.sensitive ? { sensitive: true } : {}),
      ...(this.options.description ? { description: this.options.description } : {}),
    };
    for (const [k, v] of Object.entries(this.specific)) if (v !== undefined) config[k] = v;
    return config as unknown as ParameterConfig;
  }
}

/** Type of a result column. */
export enum ColumnType {
  /** Text. */
  STRING = 'string',
  /** A whole number up to 2^53 - 1 (GraphQL `SafeInt`). */
  INTEGER = 'integer',
  /** A floating-point or decimal number. */
  NUMBER = 'number',
  /** true or false (MySQL's 0/1 included). */
  BOOLEAN = 'boolean',
  /** A timestamp, as RFC 3339 text. */
  DATE_TIME = 'date-time',
  /** A UUID. */
  UUID = 'uuid',
  /** Any JSON value (a json/jsonb column). */
  JSON = 'json',
}

/** One column of a query's result, for the GraphQL schema and the OpenAPI document. */
export interface QueryColumn {
  /** The column name as the query returns it. */
  readonly name: string;
  /** Its type. */
  readonly type: ColumnType;
  /**
   * The column can be null.
   * @default true
   */
  readonly nullable?: boolean;
  /**
   * What it holds.
   * @default - none
   */
  readonly description?: string;
}

/** How a query is published and run. */
export interface QueryOptions {
  /** SQL with named parameters (`:id`). Values are always bound, never written into the SQL. */
  readonly sql: string;
  /**
   * The typed parameters; every `:name` in the SQL needs one, and every one must be used.
   * @default - no parameters
   */
  readonly parameters?: QueryParameter[];
  /**
   * Which database user runs the query. A write query's route cannot be a GET, which must not change data
   * (caches, link prefetchers and retrying clients repeat it).
   * @default AccessLevel.READ
   */
  readonly access?: AccessLevel;
  /**
   * Most rows returned; further rows are cut off and the response says `truncated`.
   * @default 100
   */
  readonly rowLimit?: number;
  /**
   * Statement timeout (the API answers 504 after it). At most 25 seconds: the function (or container)
   * needs 3 more to connect and answer, and must answer 1 second before API Gateway's 29-second limit.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * The result is a single object; no matching row is a 404. A write must then return its row: an
   * INSERT, UPDATE, DELETE or MERGE without RETURNING is refused at synth time (it would change the row,
   * then answer 404).
   * @default false
   */
  readonly single?: boolean;
  /**
   * Name in logs and metrics.
   * @default - derived from the route, e.g. `getOrdersById`
   */
  readonly name?: string;
  /**
   * What the query does, for its callers: the operation's description in the OpenAPI document
   * (CommonMark), before what the construct says of it (reads or writes, row limit, timeout, scopes).
   * @default - only what the construct says of it
   */
  readonly description?: string;
  /**
   * OAuth scopes the caller's token must all carry (Cognito or JWT authorization), checked by API
   * Gateway and again by the query function.
   * @default - none
   */
  readonly requiredScopes?: string[];
  /**
   * Groups (`cognito:groups` or `groups` claim) of which the caller must be in at least one (Cognito or
   * JWT authorization). Checked by the query function, and by the JWT authorizer.
   * @default - none
   */
  readonly requiredGroups?: string[];
  /**
   * The result's columns. A read query needs them to be published over GraphQL (with `graphql` on, a read
   * query without them is refused at synth); they also type the OpenAPI document's responses. With a
   * `SecureDbApiProps.schema` they come from the schema when left out, and are checked against it when given. A write query
   * without them (or with `[]`: an UPDATE or DELETE without RETURNING) answers its affected-row count:
   * `meta.affectedRows` on REST, a `{ affectedRows }` payload on GraphQL.
   * @default - from the schema if any; else undeclared (OpenAPI: a generic object; a write's GraphQL mutation answers `affectedRows`)
   */
  readonly columns?: QueryColumn[];
  /**
   * Serve this route without any authentication. Only read queries that bind no claims and need no
   * scopes or groups can be opened; the stage's throttling (and usage plan) still apply.
   * @default false
   */
  readonly allowUnauthenticated?: boolean;
  /**
   * Page the result (READ queries that are not `single`): `Pagination.keyset({ orderBy })`. The route then
   * takes `limit` (1 to `rowLimit`) and `cursor` query-string parameters, and answers `meta.nextCursor` and
   * `links.next`; the GraphQL field takes `limit` and `after` and answers `nextCursor`. The SQL must not
   * have its own top-level ORDER BY or LIMIT, nor parameters named `limit` or `cursor`.
   * @default - not paged: one answer of at most `rowLimit` rows
   */
  readonly pagination?: Pagination;
}

/** A query with its route, for `SecureDbApiProps.queries`. */
export interface QueryDefinition extends QueryOptions {
  /** Method and path template, e.g. `GET /orders/{id}`. */
  readonly route: string;
}


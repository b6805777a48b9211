import { Construct } from 'constructs';
import { apiError, invalidQueries } from './context';
import { DEFAULTS } from './defaults';
import { ApiAuthorization } from '../api/authorization';
import { DatabaseTargetConfig } from '../database/database-target';
import { QueryDefinition, QueryOptions } from '../database/query';
import { parseRoute, toQueryConfig } from '../database/query-config';
import { withSchemaColumns } from '../schema/check';
import type { SecureDbApiProps } from '../secure-db-api-props';
import { CLAIMS_PREFIX, ConfigError, GraphqlConfig, PreparedQuery, prepareConfig, QueryConfig, routeKeyOf, RuntimeConfig } from '../shared/config';
import { DEFAULT_GRAPHQL_MAX_COMPLEXITY, DEFAULT_GRAPHQL_MAX_DEPTH, graphqlProblems, sha256Hex } from '../shared/graphql-config';
import { paginationProblems } from '../shared/pagination';

/** A route: method and path template. */
export interface Route {
  readonly method: string;
  readonly path: string;
}

/** What the registry checks queries against. */
export interface QueryRegistryOptions {
  readonly scope: Construct;
  readonly props: SecureDbApiProps;
  readonly target: DatabaseTargetConfig;
  readonly readerUser: string;
  readonly authorization: ApiAuthorization;
}

/**
 * The API's queries: every definition, checked as the runtime will check it (with the identity each
 * binds against the authorization), with the routes beside them (GraphQL, the served OpenAPI document).
 */
export class QueryRegistry {
  /** Set once the routes are built: later queries would not be served. */
  public sealed = false;
  private readonly definitions: QueryDefinition[] = [];
  private taken?: Map<string, string>;

  constructor(private readonly o: QueryRegistryOptions) {
    for (const q of o.props.queries ?? []) this.definitions.push(q);
    o.scope.node.addValidation({ validate: () => (this.definitions.length === 0 ? ['SecureDbApi needs at least one query (props.queries or addQuery)'] : []) });
  }

  /** The definitions, in the order they were given. */
  public get all(): readonly QueryDefinition[] {
    return this.definitions;
  }

  /** Publishes one more query at `route` (e.g. `GET /orders/{id}`). */
  public add(route: string, options: QueryOptions): void {
    if (this.sealed) throw apiError(this.o.scope, 'addQuery must be called before the app is synthesized');
    parseRoute(route);
    const definition: QueryDefinition = { ...options, route };
    // The new query alone, and its name and route against the others: checking every query again on each
    // call would make an API built call by call quadratic. Synthesis checks the whole set once more.
    const [config] = this.check([definition]) ?? [];
    const [nameKey, routeKey] = takenKeys(config);
    const taken = this.takenNamesAndRoutes();
    // The route first: a query repeated at its route clashes on its generated name too.
    const clash = taken.get(routeKey) ?? taken.get(nameKey);
    if (clash) {
      const what = taken.has(routeKey) ? `route ${config.method} ${config.path}` : `the query name "${config.name}"`;
      throw apiError(this.o.scope, `${what} is already used by query "${clash}"`);
    }
    this.definitions.push(definition);
    taken.set(nameKey, config.name).set(routeKey, config.name);
  }

  /** Names and routes of the queries so far, built on first use and kept current by add. */
  private takenNamesAndRoutes(): Map<string, string> {
    if (!this.taken) {
      this.taken = new Map();
      for (const d of this.definitions) {
        const [config] = this.check([d]) ?? [];
        for (const key of takenKeys(config)) this.taken.set(key, config.name);
      }
    }
    return this.taken;
  }

  /**
   * Every query checked (`check`), then against `props.schema` when there is one, with the result columns
   * it describes (one description per synthesis: the schema check keeps its last answer).
   */
  public checkAgainstSchema(): QueryConfig[] | undefined {
    const configs = this.check();
    const checked = configs && withSchemaColumns(this.o.scope, this.o.props.schema, this.o.target.engine, configs);
    // Paged queries' ordering columns against the result columns the schema described.
    const problems = (checked ?? []).flatMap((q) => (q.pagination ? paginationProblems(q, this.o.target.engine, undefined) : []));
    if (problems.length > 0) throw invalidQueries(this.o.scope, problems);
    return checked;
  }

  /** The queries' runtime configurations, checked; undefined when there are none. */
  public check(definitions: readonly QueryDefinition[] = this.definitions): QueryConfig[] | undefined {
    let configs: QueryConfig[];
    try {
      configs = definitions.map(toQueryConfig);
    } catch (e) {
      throw apiError(this.o.scope, (e as Error).message);
    }
    if (configs.length === 0) return undefined;
    const config: RuntimeConfig = {
      version: 1,
      engine: this.o.target.engine,
      connection: { host: 'proxy', port: 1, database: this.o.target.databaseName, user: this.o.readerUser, credentials: { type: 'iam', region: 'x' }, tls: { enabled: true } },
      queries: configs,
    };
    let prepared: PreparedQuery[];
    try {
      prepared = prepareConfig(config);
    } catch (e) {
      if (e instanceof ConfigError) throw invalidQueries(this.o.scope, e.problems);
      throw e;
    }
    this.checkIdentity(prepared, definitions);
    if (this.o.props.openApi?.serve) {
      const served = routeKeyOf('GET', DEFAULTS.openApiPath);
      const clash = configs.find((c) => routeKeyOf(c.method, c.path) === served);
      if (clash) throw apiError(this.o.scope, `query "${clash.name}": GET ${DEFAULTS.openApiPath} is where the OpenAPI document is served (openApi.serve); give the query another route`);
    }
    return configs;
  }

  /**
   * Claims, scopes and groups need callers with verified tokens: refused under AWS IAM and on
   * unauthenticated routes, so a query never silently runs without the identity it binds. The lexer's
   * parameter names are used, so `:claims.x` inside a literal or comment is not mistaken for one.
   */
  private checkIdentity(prepared: PreparedQuery[], definitions: readonly QueryDefinition[]): void {
    const iamOnly = !this.o.authorization.carriesClaims;
    const problems: string[] = [];
    if (iamOnly && this.o.props.rowLevelSecurityClaims) problems.push('rowLevelSecurityClaims needs token claims, but the API authorizes with AWS IAM; use ApiAuthorization.cognito() or .jwt()');
    prepared.forEach((q, i) => {
      const def = definitions[i];
      const claims = q.compiled.names.some((n) => n.startsWith(CLAIMS_PREFIX));
      const needs = [claims ? 'binds :claims.…' : '', q.requiredScopes?.length ? 'needs scopes' : '', q.requiredGroups?.length ? 'needs groups' : ''].filter(Boolean);
      if (def.allowUnauthenticated) {
        if (q.access !== 'read') problems.push(`query "${q.name}" is a write query: only read queries can allow unauthenticated callers`);
        if (needs.length > 0) problems.push(`query "${q.name}" allows unauthenticated callers but ${needs.join(' and ')}`);
      } else if (iamOnly && needs.length > 0) {
        problems.push(`query "${q.name}" ${needs.join(' and ')}, but the API authorizes with AWS IAM, which carries no token claims; use ApiAuthorization.cognito() or .jwt()`);
      }
    });
    if (problems.length > 0) throw apiError(this.o.scope, `the queries need an identity the API does not give them:\n- ${problems.join('\n- ')}`);
  }

  /** The routes opened with `allowUnauthenticated`, by `routeKeyOf`. */
  public unauthenticatedRoutes(): Set<string> {
    return new Set(this.definitions.filter((d) => d.allowUnauthenticated).map((d) => parseRoute(d.route)).map((r) => routeKeyOf(r.method, r.path)));
  }

  /** The GraphQL endpoint's path, when there is one. */
  public graphqlPath(): string | undefined {
    return this.o.props.graphql ? this.o.props.graphql.path ?? DEFAULTS.graphqlPath : undefined;
  }

  /** The GraphQL endpoint and the served OpenAPI document, when there are. */
  public extraRoutes(): Route[] {
    const graphqlPath = this.graphqlPath();
    return [
      ...(graphqlPath ? [{ method: 'POST', path: graphqlPath }] : []),
      ...(this.o.props.openApi?.serve ? [{ method: 'GET', path: DEFAULTS.openApiPath }] : []),
    ];
  }

  /** The GraphQL endpoint's runtime settings, checked against the queries; undefined without one. */
  public graphqlConfig(configs: QueryConfig[]): GraphqlConfig | undefined {
    const options = this.o.props.graphql;
    const graphqlPath = this.graphqlPath();
    if (!options || !graphqlPath) return undefined;
    const persisted = options.persistedQueries ?? [];
    const config: GraphqlConfig = {
      path: graphqlPath,
      maxDepth: options.maxDepth ?? DEFAULT_GRAPHQL_MAX_DEPTH,
      maxComplexity: options.maxComplexity ?? DEFAULT_GRAPHQL_MAX_COMPLEXITY,
      introspection: options.introspection ?? false,
      ...(persisted.length > 0 ? { persistedQueries: Object.fromEntries(persisted.map((d) => [sha256Hex(d), d])) } : {}),
      ...(options.persistedQueriesOnly ? { persistedOnly: true } : {}),
    };
    const problems = graphqlProblems(configs, config);
    if (problems.length > 0) throw apiError(this.o.scope, `cannot publish GraphQL:\n- ${problems.join('\n- ')}`);
    return config;
  }
}

/** The keys under which a query's name and route are taken (templates differing only in parameter names are one route). */
function takenKeys(config: QueryConfig): [string, string] {
  return [`name ${config.name}`, `route ${routeKeyOf(config.method, config.path)}`];
}

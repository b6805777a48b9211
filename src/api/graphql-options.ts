/** The GraphQL endpoint, for `SecureDbApiProps.graphql`. */
export interface GraphqlOptions {
  /**
   * Path of the endpoint (POST).
   * @default '/graphql'
   */
  readonly path?: string;
  /**
   * Deepest selection accepted (graphql-depth-limit's depth: root fields are 0).
   * @default 6
   */
  readonly maxDepth?: number;
  /**
   * Highest cost of one operation: each query or mutation field costs 10 plus 1 per selected field.
   * @default 100
   */
  readonly maxComplexity?: number;
  /**
   * Answer introspection queries. Off in production; turn it on for development stages.
   * @default false
   */
  readonly introspection?: boolean;
  /**
   * Documents clients may send by SHA-256 hash (automatic persisted queries: `extensions.persistedQuery`).
   * @default - none
   */
  readonly persistedQueries?: string[];
  /**
   * Run only the persisted documents.
   * @default false
   */
  readonly persistedQueriesOnly?: boolean;
}

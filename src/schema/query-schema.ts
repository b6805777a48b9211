import * as path from 'path';

/**
 * Where the construct reads the database schema from, to check every query against it at synthesis
 * (`SecureDbApiProps.schema`). Every query is prepared (described, never executed): syntax errors,
 * unknown tables and columns, parameters of the wrong type and reads that the server would plan as
 * writes stop the synthesis, and the result columns (GraphQL types, OpenAPI response schemas) come
 * from the description, so `columns` may be left out.
 */
export class QuerySchema {
  /**
   * A PostgreSQL schema file (DDL: `pg_dump --schema-only` output, or the app's migrations
   * concatenated), loaded into an embedded PostgreSQL (PGlite) at synthesis. No network access.
   * Needs the npm package `@electric-sql/pglite` in the CDK app (a development dependency).
   * @param file path of the DDL file, relative to the current directory
   */
  public static fromFile(file: string): QuerySchema {
    return new QuerySchema({ kind: 'file', path: path.resolve(file) }, path.resolve(file));
  }

  /**
   * A live database (for example the local development database) whose URL the environment variable
   * holds at synthesis: `postgres://user:password@host:5432/db` (needs the npm package `pg`) or
   * `mysql://...` / `mariadb://...` (needs `mysql2`). The URL is read when the app is synthesized,
   * never written into the template.
   * @param environmentVariable name of the environment variable holding the URL
   */
  public static fromEnvironmentUrl(environmentVariable: string): QuerySchema {
    return new QuerySchema({ kind: 'url', envVar: environmentVariable }, `the database in $${environmentVariable}`);
  }

  private constructor(
    /** @internal */
    public readonly _source: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly envVar: string },
    /** What the errors call this schema. */
    public readonly description: string,
  ) {}
}

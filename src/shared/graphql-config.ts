/**
 * Checks for the GraphQL endpoint's configuration, without graphql-js: the construct runs them at synth
 * time, the GraphQL function again at cold start.
 */
import { createHash } from 'crypto';
import type { GraphqlConfig, QueryConfig } from './config';

/** GraphQL names; `__` is reserved for introspection. */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

export const DEFAULT_GRAPHQL_MAX_DEPTH = 6;
export const DEFAULT_GRAPHQL_MAX_COMPLEXITY = 100;

/** Cost of one root field: a database call. */
export const QUERY_FIELD_COST = 10;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Every problem with publishing these queries over GraphQL, at once. */
export function graphqlProblems(queries: readonly QueryConfig[], config: GraphqlConfig): string[] {
  const problems: string[] = [];
  if (!/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(config.path)) problems.push(`graphql path "${config.path}" must be a fixed path such as /graphql`);
  if (!Number.isSafeInteger(config.maxDepth) || config.maxDepth < 1 || config.maxDepth > 50) problems.push('graphql maxDepth must be a whole number from 1 to 50');
  if (!Number.isSafeInteger(config.maxComplexity) || config.maxComplexity < QUERY_FIELD_COST + 1) {
    problems.push(`graphql maxComplexity must be a whole number of at least ${QUERY_FIELD_COST + 1} (one query costs ${QUERY_FIELD_COST} plus its fields)`);
  }
  if (!queries.some((q) => q.access === 'read')) problems.push('graphql needs at least one read query (a GraphQL schema needs a Query type)');
  for (const q of queries) {
    const label = `query "${q.name}"`;
    if (!GRAPHQL_NAME.test(q.name) || q.name.startsWith('__')) problems.push(`${label}: the name is not a GraphQL field name`);
    // A write without columns is a mutation answering its affected rows; a read has nothing to answer without them.
    if (q.access !== 'write' && (!q.columns || q.columns.length === 0)) {
      problems.push(`${label}: declare its result columns (columns) to publish it over GraphQL (only write queries may leave them out: they answer affectedRows)`);
    }
    for (const p of q.parameters) {
      if (p.name.startsWith('__')) problems.push(`${label}: parameter "${p.name}" is not a GraphQL argument name`);
    }
    if (q.pagination && q.parameters.some((p) => p.name === 'after')) problems.push(`${label}: a paged query cannot have a parameter named "after": it is the GraphQL field's cursor argument`);
    if (`${q.method} ${q.path}` === `POST ${config.path}`) problems.push(`${label}: its route is the GraphQL endpoint's`);
  }
  for (const [hash, doc] of Object.entries(config.persistedQueries ?? {})) {
    if (sha256Hex(doc) !== hash) problems.push(`persisted query ${hash.slice(0, 12)}… does not match its document's SHA-256`);
  }
  if (config.persistedOnly && Object.keys(config.persistedQueries ?? {}).length === 0) problems.push('graphql persistedOnly needs persisted queries');
  return problems;
}

// Entry point of the PostgreSQL GraphQL function. Bundled alone, so it never ships mysql2.
import { postgresEngine } from './engines/postgres';
import { graphqlLambdaHandler } from './graphql/lambda';

export const handler = graphqlLambdaHandler((engine) => {
  if (engine !== 'postgres') throw new Error(`this function serves PostgreSQL, but the configuration names ${engine}`);
  return postgresEngine;
});

// Entry point of the SQL Server GraphQL function.
import { sqlServerEngine } from './engines/sqlserver';
import { graphqlLambdaHandler } from './graphql/lambda';

export const handler = graphqlLambdaHandler((engine) => {
  if (engine !== 'sqlserver') throw new Error(`this function serves SQL Server, but the configuration names ${engine}`);
  return sqlServerEngine;
});

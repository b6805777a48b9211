// Entry point of the MySQL / MariaDB GraphQL function. Bundled alone, so it never ships pg.
import { mysqlEngine } from './engines/mysql';
import { graphqlLambdaHandler } from './graphql/lambda';

export const handler = graphqlLambdaHandler((engine) => {
  if (engine !== 'mysql' && engine !== 'mariadb') throw new Error(`this function serves MySQL and MariaDB, but the configuration names ${engine}`);
  return mysqlEngine(engine);
});

// Entry point of the MySQL / MariaDB query function. Bundled alone, so it never ships pg.
import { mysqlEngine } from './engines/mysql';
import { lambdaHandler } from './lambda';

export const handler = lambdaHandler((engine) => {
  if (engine !== 'mysql' && engine !== 'mariadb') throw new Error(`this function serves MySQL and MariaDB, but the configuration names ${engine}`);
  return mysqlEngine(engine);
});

// Entry point of the SQL Server query function. Bundled alone, so it ships neither pg nor mysql2.
import { sqlServerEngine } from './engines/sqlserver';
import { lambdaHandler } from './lambda';

export const handler = lambdaHandler((engine) => {
  if (engine !== 'sqlserver') throw new Error(`this function serves SQL Server, but the configuration names ${engine}`);
  return sqlServerEngine;
});

// Entry point of the PostgreSQL query function. Bundled alone, so it never ships mysql2.
import { postgresEngine } from './engines/postgres';
import { lambdaHandler } from './lambda';

export const handler = lambdaHandler((engine) => {
  if (engine !== 'postgres') throw new Error(`this function serves PostgreSQL, but the configuration names ${engine}`);
  return postgresEngine;
});

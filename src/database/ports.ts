import type { DatabaseEngineFamily } from './database-target';

/** The port an engine (and an RDS Proxy in front of it) listens on by default. */
export function defaultPortOf(engine: DatabaseEngineFamily): number {
  switch (engine as string) {
    case 'postgres':
      return 5432;
    case 'sqlserver':
      return 1433;
    default:
      return 3306;
  }
}

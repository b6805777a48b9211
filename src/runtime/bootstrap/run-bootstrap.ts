/**
 * Runs the user bootstrap on a real server as the master user: PostgreSQL in one transaction (all or
 * nothing), MySQL/MariaDB statement by statement (their DDL commits implicitly; every statement is
 * idempotent, so a failed run is finished by the next one).
 */
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { BootstrapPlan, bootstrapStatements } from './users';

export interface MasterConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The database to connect to (PostgreSQL: the one the grants are for). */
  readonly database: string;
  /** Verify the server certificate (the RDS CA, through NODE_EXTRA_CA_CERTS on Lambda). Default true. */
  readonly tls?: boolean;
  /** Extra trusted CA (PEM), for servers outside RDS (tests). */
  readonly ca?: string;
  readonly connectTimeoutMs?: number;
}

/** An error safe to report: it names the step, never a statement (statements hold passwords). */
export class BootstrapError extends Error {
  constructor(step: number, total: number, cause: unknown) {
    const code = (cause as { code?: unknown })?.code;
    super(`statement ${step} of ${total} failed${typeof code === 'string' ? ` (${code})` : ''}: ${redact((cause as Error)?.message ?? String(cause))}`);
    this.name = 'BootstrapError';
  }
}

/** Driver messages name objects, not values, but a quoted string is cut out in case one ever echoes SQL. */
function redact(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.|'')*'/g, "'…'").slice(0, 300);
}

export async function runBootstrap(plan: BootstrapPlan, master: MasterConnection): Promise<number> {
  const statements = bootstrapStatements(plan);
  const tls = master.tls ?? true;
  const timeout = master.connectTimeoutMs ?? 10_000;
  if (plan.engine === 'postgres') {
    const client = new Client({
      host: master.host,
      port: master.port,
      user: master.user,
      password: master.password,
      database: master.database,
      ssl: tls ? { rejectUnauthorized: true, servername: master.host, ...(master.ca ? { ca: master.ca } : {}) } : false,
      connectionTimeoutMillis: timeout,
      application_name: 'secure-db-api-bootstrap',
    });
    await client.connect();
    try {
      await client.query('BEGIN');
      for (const [i, sql] of statements.entries()) {
        try {
          await client.query(sql);
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new BootstrapError(i + 1, statements.length, e);
        }
      }
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
    return statements.length;
  }
  const conn = await mysql.createConnection({
    host: master.host,
    port: master.port,
    user: master.user,
    password: master.password,
    database: master.database,
    ssl: tls ? { rejectUnauthorized: true, verifyIdentity: true, ...(master.ca ? { ca: master.ca } : {}) } : undefined,
    connectTimeout: timeout,
    multipleStatements: false,
  });
  try {
    for (const [i, sql] of statements.entries()) {
      try {
        await conn.query(sql);
      } catch (e) {
        throw new BootstrapError(i + 1, statements.length, e);
      }
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
  return statements.length;
}

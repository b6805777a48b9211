/**
 * The database users the API runs as: a reader and a writer, created or brought up to date
 * idempotently (every statement can run again with the same result), never dropped. Pure SQL
 * generation here; `run-bootstrap.ts` executes it. Identifiers and passwords are escaped by the drivers'
 * own escaping functions (DDL cannot take bound parameters).
 */
import { escape as myLiteral, escapeId as myIdent } from 'mysql2';
import { escapeIdentifier as pgIdent, escapeLiteral as pgLiteral } from 'pg';
import type { EngineName } from '../../shared/config';

/** How a user logs in to the database. */
export type UserAuthentication =
  /** A password (the proxy logs in with the user's rotating secret). */
  | { readonly type: 'password'; readonly password: string }
  /** AWS IAM tokens only (`rds_iam` / AWSAuthenticationPlugin); for proxies with end-to-end IAM auth. */
  | { readonly type: 'iam' };

export interface DatabaseUser {
  readonly name: string;
  readonly authentication: UserAuthentication;
}

export interface BootstrapPlan {
  readonly engine: EngineName;
  /** The database the queries run in. */
  readonly database: string;
  /** PostgreSQL schemas the users work in. Default `['public']`. Ignored on MySQL/MariaDB (the database is the schema). */
  readonly schemas?: readonly string[];
  /** Runs read queries: SELECT only. */
  readonly reader: DatabaseUser;
  /** Runs write queries: SELECT, INSERT, UPDATE, DELETE (and sequences on PostgreSQL). Never DDL. */
  readonly writer: DatabaseUser;
}

const NAME = /^[a-z_][a-z0-9_]{0,30}$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Checks a plan; all problems at once. */
export function checkPlan(plan: BootstrapPlan): string[] {
  const problems: string[] = [];
  if (!['postgres', 'mysql', 'mariadb'].includes(plan.engine)) problems.push('engine must be postgres, mysql or mariadb');
  if (typeof plan.database !== 'string' || !SCHEMA.test(plan.database)) problems.push('database must be a plain identifier');
  for (const s of plan.schemas ?? []) if (!SCHEMA.test(s)) problems.push(`schema "${s}" must be a plain identifier`);
  for (const [role, user] of [['reader', plan.reader], ['writer', plan.writer]] as const) {
    if (!user || !NAME.test(user.name)) problems.push(`${role} user name must be lower-case letters, digits and _ (at most 31)`);
    const auth = user?.authentication;
    if (auth?.type === 'password' && (typeof auth.password !== 'string' || auth.password.length < 8)) problems.push(`${role} password must have at least 8 characters`);
    if (auth?.type !== 'password' && auth?.type !== 'iam') problems.push(`${role} authentication must be password or iam`);
  }
  if (plan.reader?.name === plan.writer?.name) problems.push('reader and writer must be different users');
  return problems;
}

const WRITER_TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';

function postgresUser(user: DatabaseUser, plan: BootstrapPlan, tablePrivileges: string, writer: boolean): string[] {
  const u = pgIdent(user.name);
  const out = [
    // CREATE ROLE has no IF NOT EXISTS; the check and the create run in one block.
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${pgLiteral(user.name)}) THEN CREATE ROLE ${u} LOGIN; END IF; END $$`,
    // Never more than a login: an earlier manual change to superuser or CREATEROLE is taken back.
    `ALTER ROLE ${u} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
  ];
  if (user.authentication.type === 'password') {
    out.push(`ALTER ROLE ${u} WITH PASSWORD ${pgLiteral(user.authentication.password)}`);
    // A user with rds_iam can only log in with tokens; password users must not have it.
    // (Nested IFs: SQL does not promise to evaluate AND left to right, and pg_has_role fails without the role.)
    out.push(`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN IF pg_has_role(${pgLiteral(user.name)}, 'rds_iam', 'MEMBER') THEN REVOKE rds_iam FROM ${u}; END IF; END IF; END $$`);
  } else {
    out.push(`ALTER ROLE ${u} WITH PASSWORD NULL`, `GRANT rds_iam TO ${u}`);
  }
  out.push(`GRANT CONNECT ON DATABASE ${pgIdent(plan.database)} TO ${u}`);
  for (const schema of plan.schemas ?? ['public']) {
    const s = pgIdent(schema);
    out.push(
      `GRANT USAGE ON SCHEMA ${s} TO ${u}`,
      `GRANT ${tablePrivileges} ON ALL TABLES IN SCHEMA ${s} TO ${u}`,
      // Tables the owner (the user running this) creates later get the same privileges.
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT ${tablePrivileges} ON TABLES TO ${u}`,
    );
    if (writer) {
      out.push(
        `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${u}`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${u}`,
      );
    }
  }
  return out;
}

function mysqlUser(user: DatabaseUser, plan: BootstrapPlan, tablePrivileges: string): string[] {
  const u = `${myLiteral(user.name)}@'%'`;
  const auth = user.authentication.type === 'password'
    ? `IDENTIFIED BY ${myLiteral(user.authentication.password)}`
    : "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'";
  const out = [
    `CREATE USER IF NOT EXISTS ${u} ${auth}`,
    // The user may exist from an earlier run or by hand: bring its authentication up to date.
    `ALTER USER ${u} ${auth}`,
    `GRANT ${tablePrivileges} ON ${myIdent(plan.database)}.* TO ${u}`,
  ];
  if (user.authentication.type === 'iam') out.push(`ALTER USER ${u} REQUIRE SSL`);
  return out;
}

/** The statements, in order. Run them as the master user; they contain passwords, so never log them. */
export function bootstrapStatements(plan: BootstrapPlan): string[] {
  const problems = checkPlan(plan);
  if (problems.length > 0) throw new Error(`Invalid database user bootstrap: ${problems.join('; ')}`);
  if (plan.engine === 'postgres') {
    return [...postgresUser(plan.reader, plan, 'SELECT', false), ...postgresUser(plan.writer, plan, WRITER_TABLE_PRIVILEGES, true)];
  }
  return [...mysqlUser(plan.reader, plan, 'SELECT'), ...mysqlUser(plan.writer, plan, WRITER_TABLE_PRIVILEGES)];
}

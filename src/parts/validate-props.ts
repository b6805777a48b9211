import { Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { apiError } from './context';
import { DEFAULTS } from './defaults';
import { DatabaseTargetConfig } from '../database/database-target';
import { ENGINES } from '../database/engines';
import { SecureDbApiProps } from '../secure-db-api-props';

/** A check of the props alone, made before anything is created. */
interface PropsRule {
  /** True when the props break the rule. */
  readonly broken: (props: SecureDbApiProps, target: DatabaseTargetConfig) => boolean;
  readonly message: (props: SecureDbApiProps) => string;
}

const USER = /^[a-z_][a-z0-9_]{0,30}$/;
const API_NAME = /^[A-Za-z0-9 ._-]{1,128}$/;
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const users = (p: SecureDbApiProps) => [p.readerUser ?? DEFAULTS.readerUser, p.writerUser ?? DEFAULTS.writerUser];
const known = (value: string | undefined): value is string => value !== undefined && !Token.isUnresolved(value);

/**
 * The props' own rules, as aws-rds validates its props: one row per rule. Rules that depend on what
 * was created (the proxy, the imported database's attributes, the queries) stay with the part concerned.
 */
const RULES: readonly PropsRule[] = [
  {
    broken: (p) => users(p).some((u) => !USER.test(u)),
    message: (p) => `database user "${users(p).find((u) => !USER.test(u))}" must be lower-case letters, digits and _ (at most 31), starting with a letter or _`,
  },
  { broken: (p) => users(p)[0] === users(p)[1], message: () => 'readerUser and writerUser must be different users' },
  {
    broken: (p) => known(p.monitoring?.dashboardName) && !DASHBOARD_NAME.test(p.monitoring.dashboardName),
    message: (p) => `monitoring.dashboardName "${p.monitoring?.dashboardName}" must be 1 to 255 letters, digits, '-' or '_'`,
  },
  {
    broken: (p) => known(p.apiName) && !API_NAME.test(p.apiName),
    message: (p) => `apiName "${p.apiName}" must be 1 to 128 letters, digits, spaces, '.', '_' or '-'`,
  },
  {
    broken: (p) => p.usagePlan?.quota !== undefined && !(Number.isSafeInteger(p.usagePlan.quota) && p.usagePlan.quota > 0),
    message: () => 'usagePlan.quota must be a positive whole number',
  },
  {
    broken: (p, t) => p.rowLevelSecurityClaims === true && !ENGINES[t.engine].rowLevelSecurity,
    message: () => 'rowLevelSecurityClaims is for PostgreSQL row-level security only',
  },
  {
    broken: (p, t) => p.databaseUsers?.schemas !== undefined && !ENGINES[t.engine].schemas,
    message: () => 'databaseUsers.schemas is for PostgreSQL (on MySQL and MariaDB the database is the schema)',
  },
  {
    broken: (p) => {
      const schemas = p.databaseUsers?.schemas;
      return schemas !== undefined && (schemas.length === 0 || schemas.some((s) => !SCHEMA.test(s)));
    },
    message: (p) => `databaseUsers.schemas must be plain identifiers, got ${JSON.stringify(p.databaseUsers?.schemas)}`,
  },
  {
    broken: (p) => p.proxyAuthentication !== undefined && p.existingProxy !== undefined,
    message: () => 'proxyAuthentication applies to a new proxy; the existing proxy\'s owner decides how it logs in',
  },
];

/** Throws for the first rule the props break, naming the construct's path. */
export function validateProps(scope: Construct, props: SecureDbApiProps, target: DatabaseTargetConfig): void {
  const rule = RULES.find((r) => r.broken(props, target));
  if (rule) throw apiError(scope, rule.message(props));
}

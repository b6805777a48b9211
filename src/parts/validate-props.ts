import { Stack, Token } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
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
/** API Gateway's stage names. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const users = (p: SecureDbApiProps) => [p.databaseUsers?.reader ?? DEFAULTS.readerUser, p.databaseUsers?.writer ?? DEFAULTS.writerUser];

/**
 * Names an API's database user must not have: the engines' and RDS's built-in users and roles, and the
 * master user names aws-cdk-lib and RDS give by default. The user bootstrap sets its user's password and
 * grants, so a master user named here would be taken over by the API.
 */
const RESERVED_USERS: ReadonlySet<string> = new Set([
  'postgres', 'public', 'root', 'admin', 'sa', 'mysql', 'rdsadmin', 'rdsa', 'rdsrepladmin', 'rdsproxyadmin', 'rdstopmgr',
]);
/** PostgreSQL reserves role names starting with pg_; RDS makes its roles rds_…. */
const RESERVED_USER_PREFIX = /^(pg_|rds_)/;
const reservedUser = (p: SecureDbApiProps) => users(p).find((u) => RESERVED_USERS.has(u) || RESERVED_USER_PREFIX.test(u));

/** Secrets Manager's rotation schedules: every 4 hours at the most, every 1000 days at the least. */
const MIN_ROTATION_HOURS = 4;
const MAX_ROTATION_DAYS = 1000;
/** Lambda's memory sizes, in MiB. */
const MIN_MEMORY_MIB = 128;
const MAX_MEMORY_MIB = 10_240;

const rotationHours = (p: SecureDbApiProps) => p.databaseUsers?.rotationSchedule?.toHours({ integral: false });
const badRotation = (p: SecureDbApiProps) => {
  const hours = rotationHours(p);
  return hours !== undefined && !Token.isUnresolved(hours) && !(hours >= MIN_ROTATION_HOURS && hours <= MAX_ROTATION_DAYS * 24);
};
const badNumber = (value: number | undefined, ok: (n: number) => boolean) => value !== undefined && !Token.isUnresolved(value) && !ok(value);
const nonNegative = (n: number) => Number.isFinite(n) && n >= 0;
const wholeNonNegative = (n: number) => Number.isSafeInteger(n) && n >= 0;
const known = (value: string | undefined): value is string => value !== undefined && !Token.isUnresolved(value);

/** A deprecated flat prop and the option of a group it stands for. */
interface FlatAlias {
  readonly flat: keyof SecureDbApiProps;
  /** The grouped option's path in the props. */
  readonly grouped: string;
  readonly groupedValue: (props: SecureDbApiProps) => unknown;
}

/** The flat props kept as deprecated aliases of grouped options: giving both forms is an error. */
const FLAT_ALIASES: readonly FlatAlias[] = [
  { flat: 'proxyAuthentication', grouped: 'proxy.authentication', groupedValue: (p) => p.proxy?.authentication },
  { flat: 'existingProxy', grouped: 'proxy.existing', groupedValue: (p) => p.proxy?.existing },
  { flat: 'readerUser', grouped: 'databaseUsers.reader', groupedValue: (p) => p.databaseUsers?.reader },
  { flat: 'writerUser', grouped: 'databaseUsers.writer', groupedValue: (p) => p.databaseUsers?.writer },
  { flat: 'rotationSchedule', grouped: 'databaseUsers.rotationSchedule', groupedValue: (p) => p.databaseUsers?.rotationSchedule },
  { flat: 'memorySize', grouped: 'functions.memorySize', groupedValue: (p) => p.functions?.memorySize },
  { flat: 'reservedConcurrency', grouped: 'functions.reservedConcurrency', groupedValue: (p) => p.functions?.reservedConcurrency },
];

/** Merges a group with the values of its deprecated flat props; undefined when neither form gives anything. */
function group<T extends object>(grouped: T | undefined, flat: Partial<T>): T | undefined {
  const given = Object.fromEntries(Object.entries(flat).filter(([, value]) => value !== undefined)) as Partial<T>;
  if (grouped === undefined && Object.keys(given).length === 0) return undefined;
  return { ...grouped, ...given } as T;
}

/**
 * The props with every deprecated flat prop moved into its group, so the parts read one form only.
 * Giving a flat prop and its grouped option both is an error naming the two.
 */
function groupedProps(scope: Construct, props: SecureDbApiProps): SecureDbApiProps {
  const both = FLAT_ALIASES.find((a) => props[a.flat] !== undefined && a.groupedValue(props) !== undefined);
  if (both) throw apiError(scope, `${both.flat} and ${both.grouped} are the same setting: give only ${both.grouped} (${both.flat} is deprecated)`);
  const { proxyAuthentication, existingProxy, readerUser, writerUser, rotationSchedule, memorySize, reservedConcurrency, ...rest } = props;
  return {
    ...rest,
    proxy: group(props.proxy, { authentication: proxyAuthentication, existing: existingProxy }),
    databaseUsers: group(props.databaseUsers, { reader: readerUser, writer: writerUser, rotationSchedule }),
    functions: group(props.functions, { memorySize, reservedConcurrency }),
  };
}

/**
 * The props' own rules, as aws-rds validates its props: one row per rule. Rules that depend on what
 * was created (the proxy, the imported database's attributes, the queries) stay with the part concerned.
 */
const RULES: readonly PropsRule[] = [
  {
    broken: (p) => users(p).some((u) => !USER.test(u)),
    message: (p) => `database user "${users(p).find((u) => !USER.test(u))}" must be lower-case letters, digits and _ (at most 31), starting with a letter or _`,
  },
  { broken: (p) => users(p)[0] === users(p)[1], message: () => 'databaseUsers.reader and databaseUsers.writer must be different users' },
  {
    broken: (p) => reservedUser(p) !== undefined,
    message: (p) => `database user "${reservedUser(p)}" is a built-in or default master user name: the API's user bootstrap would take it over; choose a name of the API's own`,
  },
  {
    broken: badRotation,
    message: (p) => `databaseUsers.rotationSchedule must be from ${MIN_ROTATION_HOURS} hours to ${MAX_ROTATION_DAYS} days (Secrets Manager's limits), got ${p.databaseUsers?.rotationSchedule?.toHumanString()}`,
  },
  ...(['throttling', 'usagePlan.throttling'] as const).flatMap((where): PropsRule[] => {
    const of = (p: SecureDbApiProps) => (where === 'throttling' ? p.throttling : p.usagePlan?.throttling);
    return [
      { broken: (p) => badNumber(of(p)?.rateLimit, nonNegative), message: (p) => `${where}.rateLimit must be a finite number of requests per second, at least 0, got ${of(p)?.rateLimit}` },
      { broken: (p) => badNumber(of(p)?.burstLimit, wholeNonNegative), message: (p) => `${where}.burstLimit must be a whole number of requests, at least 0, got ${of(p)?.burstLimit}` },
    ];
  }),
  {
    broken: (p) => badNumber(p.functions?.memorySize, (n) => Number.isSafeInteger(n) && n >= MIN_MEMORY_MIB && n <= MAX_MEMORY_MIB),
    message: (p) => `functions.memorySize must be a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB} (Lambda's limits), got ${p.functions?.memorySize}`,
  },
  {
    broken: (p) => badNumber(p.functions?.reservedConcurrency, (n) => Number.isSafeInteger(n) && n >= 1),
    message: (p) => `functions.reservedConcurrency must be a whole number, at least 1 (0 would refuse every call), got ${p.functions?.reservedConcurrency}`,
  },
  {
    broken: (p) => known(p.monitoring?.dashboardName) && !DASHBOARD_NAME.test(p.monitoring.dashboardName),
    message: (p) => `monitoring.dashboardName "${p.monitoring?.dashboardName}" must be 1 to 255 letters, digits, '-' or '_'`,
  },
  {
    broken: (p) => known(p.apiName) && !API_NAME.test(p.apiName),
    message: (p) => `apiName "${p.apiName}" must be 1 to 128 letters, digits, spaces, '.', '_' or '-'`,
  },
  {
    broken: (p) => known(p.stageName) && !STAGE_NAME.test(p.stageName),
    message: (p) => `stageName "${p.stageName}" must be 1 to 128 letters, digits, '-' or '_' (API Gateway's stage names)`,
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
    broken: (p) => p.proxy?.authentication !== undefined && p.proxy.existing !== undefined,
    message: () => 'proxy.authentication applies to a new proxy; the existing proxy\'s owner decides how it logs in',
  },
];

/**
 * Throws for the first rule the props break, naming the construct's path; returns the props in their
 * grouped form (no deprecated flat prop set), which is all the parts read.
 */
export function validateProps(scope: Construct, props: SecureDbApiProps, target: DatabaseTargetConfig): SecureDbApiProps {
  const grouped = groupedProps(scope, props);
  const rule = RULES.find((r) => r.broken(grouped, target));
  if (rule) throw apiError(scope, rule.message(grouped));
  return grouped;
}

/** The API names taken in each app: `<account>/<region>/<name>` (or the stack's path, for a stack without both) to the API's path. */
const API_NAMES_OF_APP = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Refuses an API name another SecureDbApi of the app already has in the same account and region (as
 * the props' documentation says, API Gateway's metrics would then mix the two APIs' calls). The place is
 * known when the stack names its account and region; otherwise only APIs of the same stack are compared.
 */
export function claimApiName(scope: Construct, apiName: string): void {
  if (Token.isUnresolved(apiName)) return;
  const stack = Stack.of(scope);
  const place = Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region) ? stack.node.path : `${stack.account}/${stack.region}`;
  const names = API_NAMES_OF_APP.get(scope.node.root) ?? new Map<string, string>();
  API_NAMES_OF_APP.set(scope.node.root, names);
  const key = `${place}/${apiName}`;
  const other = names.get(key);
  if (other !== undefined) {
    throw apiError(scope, `apiName "${apiName}" is already the name of SecureDbApi ${other} in the same account and region: `
      + 'API Gateway\'s metrics and the query module\'s audit records find an API by its name, so each needs its own');
  }
  names.set(key, scope.node.path);
}

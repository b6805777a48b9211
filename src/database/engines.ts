import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
// A type import: database-target.ts reads this file, so the enum's values are the keys below.
import type { DatabaseEngineFamily } from './database-target';


/** What the construct needs to know of one database engine: one record each, instead of switches. */
export interface EngineRecord {
  /** RDS engine types (`IEngine.engineType`) of the family. */
  readonly engineTypes: readonly string[];
  /** The port the engine (and an RDS Proxy in front of it) listens on by default. */
  readonly port: number;
  /** The query functions' bundle under assets/runtime (the GraphQL bundle is `graphql-<bundle>`). */
  readonly bundle: string;
  /** Secrets Manager's hosted single-user rotation for the engine. */
  readonly hostedRotation: (options: secretsmanager.SingleUserHostedRotationOptions) => secretsmanager.HostedRotation;
  /** Whether `rowLevelSecurityClaims` can set the claims for row-level security policies. */
  readonly rowLevelSecurity: boolean;
  /** Whether the construct can create the database users (`databaseUsers.create`). */
  readonly userBootstrap: boolean;
  /** Whether the users' privileges are granted per schema (`databaseUsers.schemas`). */
  readonly schemas: boolean;
}

const MYSQL_PROTOCOL = { port: 3306, bundle: 'mysql.lambda', rowLevelSecurity: false, userBootstrap: true, schemas: false } as const;

/** Every engine the construct serves. */
export const ENGINES: Readonly<Record<DatabaseEngineFamily, EngineRecord>> = {
  postgres: {
    engineTypes: ['postgres', 'aurora-postgresql'],
    port: 5432,
    bundle: 'postgres.lambda',
    hostedRotation: (o) => secretsmanager.HostedRotation.postgreSqlSingleUser(o),
    rowLevelSecurity: true,
    userBootstrap: true,
    schemas: true,
  },
  mysql: {
    ...MYSQL_PROTOCOL,
    engineTypes: ['mysql', 'aurora-mysql', 'aurora'],
    hostedRotation: (o) => secretsmanager.HostedRotation.mysqlSingleUser(o),
  },
  mariadb: {
    ...MYSQL_PROTOCOL,
    engineTypes: ['mariadb'],
    hostedRotation: (o) => secretsmanager.HostedRotation.mariaDbSingleUser(o),
  },
  sqlserver: {
    engineTypes: ['sqlserver-ee', 'sqlserver-se', 'sqlserver-ex', 'sqlserver-web'],
    port: 1433,
    bundle: 'sqlserver.lambda',
    hostedRotation: (o) => secretsmanager.HostedRotation.sqlServerSingleUser(o),
    rowLevelSecurity: false,
    // Not built yet: its logins, users and roles are created in two places (server and database).
    userBootstrap: false,
    schemas: false,
  },
};

/** The family of an RDS engine type, when the construct serves it. */
export function familyOfEngineType(engineType: string | undefined): DatabaseEngineFamily | undefined {
  if (engineType === undefined) return undefined;
  return (Object.keys(ENGINES) as DatabaseEngineFamily[]).find((family) => ENGINES[family].engineTypes.includes(engineType));
}

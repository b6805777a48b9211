import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { ApiContext, apiError } from './context';
import { DEFAULTS } from './defaults';
import { acknowledgeDatabaseIngress, ProxyAccess } from './proxy-access';
import { DatabaseTargetConfig } from '../database/database-target';
import { DatabaseUsers } from '../database/database-users';
import { ENGINES } from '../database/engines';
import type { SecureDbApiProps } from '../secure-db-api-props';

/**
 * The users of each database (by its connections, one object per database construct) with the API that
 * holds their secrets: two APIs on one database must not set each other's passwords and rotate one login.
 */
const USERS_OF_DATABASE = new WeakMap<ec2.Connections, Map<string, string>>();

/** The reader and writer the API runs as. */
export interface ApiUsers {
  readonly readerUser: string;
  readonly writerUser: string;
}

/**
 * The reader and writer, checked, and taken on the database for this API (which holds their secrets,
 * rotation and bootstrap) unless an existing proxy holds them, refusing users another API in the app
 * already has there.
 */
export function claimUsers(scope: Construct, props: SecureDbApiProps, target: DatabaseTargetConfig): ApiUsers {
  const readerUser = props.databaseUsers?.reader ?? DEFAULTS.readerUser;
  const writerUser = props.databaseUsers?.writer ?? DEFAULTS.writerUser;
  if (props.proxy?.existing) return { readerUser, writerUser };
  const users = USERS_OF_DATABASE.get(target.connections) ?? new Map<string, string>();
  USERS_OF_DATABASE.set(target.connections, users);
  for (const user of [readerUser, writerUser]) {
    const other = users.get(user);
    if (other !== undefined) {
      throw apiError(scope, `database user "${user}" is already used by SecureDbApi ${other} on the same database; `
        + 'each API needs its own databaseUsers.reader and databaseUsers.writer, or the two would set each other\'s passwords from different secrets and rotate one login twice');
    }
  }
  for (const user of [readerUser, writerUser]) users.set(user, scope.node.path);
  return { readerUser, writerUser };
}

/**
 * Whether the reader and writer will exist when their secrets first rotate: the bootstrap creates them, or
 * `databaseUsers.create: false` says their owner does. Otherwise (SQL Server, or an imported database
 * whose master secret is unknown) nothing creates them, and a rotation would fail on logins that do not exist.
 */
export function usersWillExist(props: SecureDbApiProps, target: DatabaseTargetConfig): boolean {
  const options = props.databaseUsers ?? {};
  if (options.create !== undefined) return true;
  if (!ENGINES[target.engine].userBootstrap) return false;
  return (options.masterSecret ?? target.masterSecret) !== undefined;
}

/**
 * The reader and writer users, created before their secrets first rotate (rotation logs in as them), or a
 * warning saying who must create them.
 */
export class DatabaseUsersPart {
  /** Whether the construct creates the database users (the bootstrap runs in the VPC). */
  public readonly bootstraps: boolean = false;

  constructor(ctx: ApiContext, access: ProxyAccess) {
    const { scope, props, target } = ctx;
    const options = props.databaseUsers ?? {};
    const masterSecret = options.masterSecret ?? target.masterSecret;
    if (!ENGINES[target.engine].userBootstrap) {
      // SQL Server (the only engine without): the warning says how to create its logins and users.
      if (options.create === true) throw apiError(scope, 'databaseUsers.create is not available for SQL Server yet; create the logins and users yourself');
      if (options.create === undefined) {
        Annotations.of(scope).addWarningV2('cdk-secure-db-api:databaseUsersNotCreated',
          `The database users ${ctx.readerUser} and ${ctx.writerUser} are not created on SQL Server, and their secrets do not rotate until they exist: `
          + 'create the logins with their secrets\' passwords, the users in the database, db_datareader for the reader and db_datareader + db_datawriter for the writer, '
          + 'then set databaseUsers.create to false, which also adds the rotation.');
      }
      return;
    }
    const create = options.create ?? (masterSecret !== undefined && !props.proxy?.existing);
    if (!create) {
      if (options.create === undefined) {
        Annotations.of(scope).addWarningV2('cdk-secure-db-api:databaseUsersNotCreated', props.proxy?.existing
          ? `The database users ${ctx.readerUser} and ${ctx.writerUser} are not created: the existing proxy's owner manages them. Set databaseUsers.create to false to silence this.`
          : `The database users ${ctx.readerUser} and ${ctx.writerUser} are not created, and their secrets do not rotate until they exist: the master secret of the imported database is unknown. `
            + 'Set databaseUsers.masterSecret, or create them with their secrets\' passwords and set databaseUsers.create to false, which also adds the rotation.');
      }
      return;
    }
    if (props.proxy?.existing) throw apiError(scope, 'databaseUsers.create cannot be used with proxy.existing: the users\' passwords live in that proxy\'s secrets');
    if (!masterSecret) throw apiError(scope, 'databaseUsers.create needs the master secret: the database was imported, so set databaseUsers.masterSecret');
    if (!target.endpoint) throw apiError(scope, 'databaseUsers.create connects to the database\'s endpoint, which the imported cluster does not know: import it with clusterEndpointAddress and port');
    this.bootstraps = true;
    const users = new DatabaseUsers(scope, 'DatabaseUsers', {
      target,
      endpoint: target.endpoint,
      masterSecret,
      masterSecretEncryptionKey: options.masterSecretEncryptionKey,
      reader: { name: ctx.readerUser, secret: access.secrets[0] },
      writer: { name: ctx.writerUser, secret: access.secrets[1] },
      authentication: ctx.endToEndIam ? 'iam' : 'password',
      schemas: options.schemas,
      vpc: ctx.vpc,
      vpcSubnets: ctx.vpcSubnets,
      encryptionKey: ctx.encryptionKey,
      logRetention: ctx.logRetention,
      removalPolicy: ctx.removalPolicy,
    });
    acknowledgeDatabaseIngress(target, users.securityGroup, 'Opened to the database user bootstrap\'s security group only');
    for (const schedule of access.rotationSchedules) schedule.node.addDependency(users.resource);
  }
}

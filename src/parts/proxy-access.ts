import { ArnFormat, Names, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ApiContext, apiError } from './context';
import { DEFAULTS, EXCLUDED_PASSWORD_CHARACTERS, PROXY_DEFAULTS } from './defaults';
import { DatabaseTargetConfig } from '../database/database-target';
import { ENGINES } from '../database/engines';
import { ProxyAuthentication, SecureDbApiProps } from '../secure-db-api-props';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';

/** What ProxyAccess needs beyond the shared context. */
export interface ProxyAccessOptions {
  /** Whether query functions run (they get a security group the proxy accepts). */
  readonly functions: boolean;
  /** Whether the user secrets rotate: only when their users will exist (rotation logs in as them). */
  readonly rotate: boolean;
}

/**
 * How the API reaches the database: a new proxy (IAM authentication and TLS required, with the users'
 * secrets, their rotation and the proxy's role) or an existing one, and the security groups between them.
 */
export class ProxyAccess {
  /** Whether the new proxy logs in with IAM: checked before anything is created. */
  public static endToEndIam(scope: Construct, props: SecureDbApiProps, target: DatabaseTargetConfig): boolean {
    if (props.proxy?.authentication === undefined) return false;
    if (props.proxy.authentication !== ProxyAuthentication.END_TO_END_IAM) return false;
    if (!target.resourceId) {
      throw apiError(scope, 'ProxyAuthentication.END_TO_END_IAM needs the database\'s resource id for the proxy\'s rds-db:connect permission; '
        + 'import the cluster with clusterResourceIdentifier or the instance with instanceResourceId');
    }
    if (target.iamAuthentication === false) throw apiError(scope, 'ProxyAuthentication.END_TO_END_IAM needs iamAuthentication: true on the database');
    return true;
  }

  public readonly proxy: rds.IDatabaseProxy;
  /** The proxy's connections (its security group). */
  public readonly connections: ec2.Connections;
  /** The reader's and the writer's secrets; empty with an existing proxy or end-to-end IAM. */
  public readonly secrets: secretsmanager.ISecret[];
  /** The query functions' security group, when query functions run. */
  public readonly securityGroup?: ec2.ISecurityGroup;
  /** The secrets' rotation schedules (the user bootstrap runs before them). */
  public readonly rotationSchedules: secretsmanager.RotationSchedule[] = [];

  constructor(private readonly ctx: ApiContext, options: ProxyAccessOptions) {
    const { scope, props } = ctx;
    this.securityGroup = options.functions
      ? new ec2.SecurityGroup(scope, 'FunctionSecurityGroup', { vpc: ctx.vpc, allowAllOutbound: false, description: 'Query functions: only the RDS Proxy' })
      : undefined;
    const existing = props.proxy?.existing;
    if (existing) {
      // The proxy's owner manages its secrets, rotation and settings; the construct only connects to it.
      this.proxy = existing.proxy;
      this.secrets = [];
      this.connections = new ec2.Connections({ securityGroups: [existing.securityGroup] });
    } else {
      this.secrets = ctx.endToEndIam ? [] : this.createUserSecrets(options.rotate);
      const proxy = this.createProxy();
      this.proxy = proxy;
      this.connections = proxy.connections;
    }
    if (this.securityGroup) this.connections.allowFrom(this.securityGroup, ec2.Port.tcp(ctx.port), 'Query functions');
  }

  /** The app users' secrets: the proxy logs in with them; rotation changes them directly on the database. */
  private createUserSecrets(rotate: boolean): secretsmanager.ISecret[] {
    const { scope, props, target } = this.ctx;
    const rotationSg = rotate
      ? new ec2.SecurityGroup(scope, 'RotationSecurityGroup', { vpc: this.ctx.vpc, allowAllOutbound: true, description: 'Secret rotation functions: database and Secrets Manager' })
      : undefined;
    if (rotationSg) {
      target.connections.allowFrom(rotationSg, ec2.Port.tcp(target.port), 'Secret rotation');
      acknowledgeDatabaseIngress(target, rotationSg, 'Opened to the secret rotation functions\' security group only');
    }
    const rotationOptions = { vpc: this.ctx.vpc, vpcSubnets: this.ctx.vpcSubnets, securityGroups: rotationSg ? [rotationSg] : [] };
    return [this.ctx.readerUser, this.ctx.writerUser].map((username, i) => {
      const label = i === 0 ? 'Reader' : 'Writer';
      const secret = new rds.DatabaseSecret(scope, `${label}Secret`, { username, encryptionKey: this.ctx.encryptionKey, excludeCharacters: EXCLUDED_PASSWORD_CHARACTERS });
      secret.applyRemovalPolicy(this.ctx.removalPolicy);
      const attached = secret.attach(target.secretAttachment);
      // Single-user rotation logs in as the user (at once, then on schedule): only for users that will exist.
      if (rotate) {
        this.rotationSchedules.push(attached.addRotationSchedule('Rotation', {
          automaticallyAfter: props.databaseUsers?.rotationSchedule ?? DEFAULTS.rotationSchedule,
          hostedRotation: ENGINES[target.engine].hostedRotation(rotationOptions),
        }));
      }
      return attached;
    });
  }

  /**
   * The proxy's role, with a customer-managed policy: with end-to-end IAM, connect to the database as
   * the two users and nothing else (aws-cdk-lib would otherwise make a role with an inline policy).
   */
  private proxyRole(): iam.Role | undefined {
    if (!this.ctx.endToEndIam) return undefined;
    const { scope, target } = this.ctx;
    const role = new iam.Role(scope, 'ProxyRole', { assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'), description: 'RDS Proxy: connects to the database with IAM as the API users' });
    new iam.ManagedPolicy(scope, 'ProxyPolicy', {
      description: 'RDS Proxy end-to-end IAM: connect as the reader and writer only',
      roles: [role],
      statements: [new iam.PolicyStatement({
        sid: 'ConnectAsTheApiUsers',
        actions: ['rds-db:connect'],
        resources: [this.ctx.readerUser, this.ctx.writerUser].map((user) => Stack.of(scope).formatArn({
          service: 'rds-db',
          resource: 'dbuser',
          resourceName: `${target.resourceId}/${user}`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        })),
      })],
    });
    return role;
  }

  /** The proxy: IAM authentication and TLS required, reachable only from the query functions. */
  private createProxy(): rds.DatabaseProxy {
    const { scope, target } = this.ctx;
    if (!target.connections.defaultPort) {
      throw apiError(scope, 'the proxy opens the database\'s port to itself, which the imported database does not know: import it with its port');
    }
    const proxySg = new ec2.SecurityGroup(scope, 'ProxySecurityGroup', { vpc: this.ctx.vpc, allowAllOutbound: false, description: 'RDS Proxy: only the query functions may connect' });
    const role = this.proxyRole();
    const proxy = new rds.DatabaseProxy(scope, 'Proxy', {
      // Proxy names are unique in the account and region; aws-cdk-lib would name it after the construct id
      // ("Proxy") unless the app sets @aws-cdk/aws-rds:databaseProxyUniqueResourceName.
      dbProxyName: proxyName(scope),
      proxyTarget: target.proxyTarget,
      secrets: this.ctx.endToEndIam ? undefined : this.secrets,
      defaultAuthScheme: this.ctx.endToEndIam ? rds.DefaultAuthScheme.IAM_AUTH : undefined,
      role,
      vpc: this.ctx.vpc,
      vpcSubnets: this.ctx.vpcSubnets,
      securityGroups: [proxySg],
      iamAuth: true,
      requireTLS: true,
      ...PROXY_DEFAULTS,
      debugLogging: false,
    });
    // aws-cdk-lib's ProxyTarget already opened the database's port to the proxy security group.
    acknowledgeDatabaseIngress(target, proxySg, 'Opened by aws-cdk-lib ProxyTarget from the proxy security group only');
    if (role) return proxy;
    acknowledge(
      proxy.node.findChild('IAMRole'),
      ...inCompliancePacks(
        'IAMNoInlinePolicy',
        'The proxy role is created by aws-cdk-lib DatabaseProxy; its only policy reads the two API users\' secrets and decrypts them with this construct\'s key.',
      ),
    );
    return proxy;
  }
}

/**
 * The rules between `source` (the proxy, rotation, the user bootstrap) and the database's security groups.
 * aws-cdk-lib puts both (the database's ingress, the source's egress) beside the database's security
 * group; when that is in another stack, which would then reference this one while this one references it
 * (a cycle), they move here, beside `source`, as aws-cdk-lib places them for `source.connections.allowTo`.
 * The database's port is a CloudFormation reference for a database defined in the app (its endpoint
 * port): the port checks cannot evaluate rules that open it, so they are acknowledged on exactly the ingress rules.
 */
export function acknowledgeDatabaseIngress(target: DatabaseTargetConfig, source: ec2.ISecurityGroup, opened: string): void {
  const sourceId = Names.nodeUniqueId(source.node);
  for (const sg of target.connections.securityGroups) {
    const elsewhere = Stack.of(sg) !== Stack.of(source);
    for (const child of [...sg.node.children]) {
      if (!child.node.id.includes(sourceId)) continue;
      if (elsewhere && child instanceof ec2.CfnSecurityGroupEgress) {
        sg.node.tryRemoveChild(child.node.id);
        new ec2.CfnSecurityGroupEgress(source, `egress ${child.node.id}`, {
          groupId: child.groupId,
          ipProtocol: child.ipProtocol,
          fromPort: child.fromPort,
          toPort: child.toPort,
          destinationSecurityGroupId: child.destinationSecurityGroupId,
          description: child.description,
        });
      }
      if (!(child instanceof ec2.CfnSecurityGroupIngress)) continue;
      let rule = child;
      if (elsewhere) {
        sg.node.tryRemoveChild(child.node.id);
        rule = new ec2.CfnSecurityGroupIngress(source, `ingress ${child.node.id}`, {
          groupId: child.groupId,
          ipProtocol: child.ipProtocol,
          fromPort: child.fromPort,
          toPort: child.toPort,
          sourceSecurityGroupId: child.sourceSecurityGroupId,
          description: child.description,
        });
      }
      if (!Token.isUnresolved(target.port)) continue;
      acknowledge(
        rule,
        ...['EC2RestrictedCommonPorts', 'EC2RestrictedSSH'].flatMap((r) => inCompliancePacks(
          r,
          `${opened}, on the database port (a deploy-time reference the rule cannot read).`,
        )),
      );
    }
  }
}

/**
 * The proxy's name: the stack name and construct path with a hash (unique in the account and region,
 * stable across deployments), within RDS's rules: at most 60 letters, digits and single hyphens, starting
 * with a letter and not ending with a hyphen.
 */
function proxyName(api: Construct): string {
  const name = Names.uniqueResourceName(api, { maxLength: 60, separator: '-' }).replace(/-{2,}/g, '-');
  if (!/^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*[A-Za-z0-9]$/.test(name)) throw apiError(api, `cannot name its proxy after the stack name and path ("${name}")`);
  return name;
}

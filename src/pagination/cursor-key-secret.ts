import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';
import { httpsEgressGroup } from '../security/vpc-access';
import type { CursorKeyConfig } from '../shared/config';

/** The environment variable that carries the secret's ARN to the functions and the tasks (a deploy-time value). */
export const CURSOR_KEY_SECRET_ENV = 'SECURE_DB_API_CURSOR_KEY_SECRET';

export interface CursorKeySecretProps {
  /** The API's customer-managed key. */
  readonly encryptionKey: kms.IKey;
  /** The same as the API's other stateful resources. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The signing key of the paged queries' cursors: a generated Secrets Manager secret, encrypted with the API's
 * key, named by CloudFormation. Created only when some query pages; only the functions and tasks that serve
 * paged queries may read it ({@link statements}).
 */
export class CursorKeySecret extends Construct {
  public readonly secret: secretsmanager.Secret;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: CursorKeySecretProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `SecureDbApi ${scope.node.path}: signs the cursors of paged queries`,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    const reason = 'The key only signs paging cursors, which last cursorLifetime; a rotation would only invalidate the cursors in use. '
      + 'To revoke every cursor at once, put a new random value in the secret.';
    acknowledge(this.secret, { id: 'AwsSolutions-SMG4', reason }, ...inCompliancePacks('SecretsManagerRotationEnabled', reason));
  }

  /** The `cursorKey` section of a runtime configuration: the secret's ARN comes from the environment ({@link environment}). */
  public runtimeConfig(): CursorKeyConfig {
    return { secretArn: `\${env:${CURSOR_KEY_SECRET_ENV}}` };
  }

  /** The environment a function or task that serves paged queries needs. */
  public environment(): Record<string, string> {
    return { [CURSOR_KEY_SECRET_ENV]: this.secret.secretArn };
  }

  /**
   * A security group, in `scope`, that lets a paging function reach Secrets Manager over HTTPS (through its
   * interface endpoint, or NAT); the functions' shared group reaches only the proxy.
   */
  public egressFrom(scope: Construct, vpc: ec2.IVpc): ec2.SecurityGroup {
    return httpsEgressGroup(scope, 'CursorKeySecurityGroup', vpc, 'Paging query function: HTTPS to Secrets Manager (the cursor signing key)', 'Secrets Manager (interface endpoint or NAT)');
  }

  /** What a paging function's or the tasks' role may do: read this secret, and decrypt with the key through Secrets Manager. */
  public statements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({ sid: 'ReadCursorKey', actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
      new iam.PolicyStatement({
        sid: 'CursorKeyThroughSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    ];
  }
}

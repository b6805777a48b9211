import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';

/** Key policy statements the construct applies to its own keys, reusable for keys of your own. */
export class KeyPolicies {
  /**
   * Denies `kms:CreateGrant` unless the grant is for an AWS service acting on an AWS resource
   * (AWS Control Tower control CT.KMS.PR.3). Services that use the key on your behalf (RDS,
   * CloudWatch Logs, Secrets Manager) keep working.
   */
  public static restrictGrantsToAwsServices(key: kms.Key): void {
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));
  }

  private constructor() {}
}

import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { KeyPolicies } from '../security/key-policies';

/**
 * The customer-managed key of the API: it encrypts the secrets, the log groups and the alarm topic.
 * CloudWatch Logs of this account may use it for log groups; grants are left to AWS services.
 */
export function createEncryptionKey(scope: Construct, removalPolicy: RemovalPolicy): kms.Key {
  const key = new kms.Key(scope, 'Key', {
    description: `SecureDbApi ${scope.node.path}: secrets and logs`,
    enableKeyRotation: true,
    removalPolicy,
  });
  const stack = Stack.of(scope);
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchLogsOfThisAccount',
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
  }));
  KeyPolicies.restrictGrantsToAwsServices(key);
  return key;
}

/** Lets CloudWatch publish alarms to a topic encrypted with `key`. */
export function allowAlarmPublishing(key: kms.Key): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsPublishToTopic',
    principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
    conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(key).account } },
  }));
}

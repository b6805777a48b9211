import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface EncryptedLogGroupProps {
  readonly encryptionKey: kms.IKey;
  readonly retention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Every log group the construct creates: KMS-encrypted, with a retention. */
export function encryptedLogGroup(scope: Construct, id: string, props: EncryptedLogGroupProps): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention: props.retention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
}

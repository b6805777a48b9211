import { Acknowledgment, Annotations, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The prefix aws-cdk-lib's `Validations` gives a rule id without one (`AwsSolutions-COG4`). */
const UNPREFIXED = 'annotation';

/**
 * Acknowledges cdk-nag findings on one construct, as `Validations.of(scope).acknowledge` records them (the
 * same metadata, the same acknowledged warnings), without the stack trace that records with each call.
 * The trace would point into this library, not to the user's code; with an acknowledgement on every
 * method, taking it and writing it to the cloud assembly was a sixth of what a route cost at synthesis.
 * Ids of findings on a resource that holds a reference (`AwsSolutions-IAM5[Resource::arn:*:logs:<AWS::Region>:...]`),
 * which `Validations` refuses for their second `::`, are recorded as they are.
 */
export function acknowledge(scope: IConstruct, ...rules: Acknowledgment[]): void {
  for (const { id, reason } of rules) {
    const parts = id.split('::');
    if (parts.length === 2 && parts[0].length === 0) throw new Error(`SecureDbApi: invalid rule id ${id}`);
    const qualified = parts.length === 1 ? `${UNPREFIXED}::${id}` : id;
    scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [qualified]: reason });
    if (parts.length <= 2) Annotations.of(scope).acknowledgeWarning(qualified);
  }
}

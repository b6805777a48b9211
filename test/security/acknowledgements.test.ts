import { Annotations, App, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { acknowledge } from '../../src/security/acknowledgements';

function construct(id: string): Construct {
  return new Construct(new Stack(new App(), `S${id}`), id);
}

const acknowledgements = (c: Construct) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);

describe('acknowledge', () => {
  test('records what Validations.acknowledge records, without a stack trace', () => {
    const ours = construct('Ours');
    const theirs = construct('Theirs');
    const rules = [
      { id: 'AwsSolutions-COG4', reason: 'The method uses AWS IAM (SigV4) authorization.' },
      { id: 'cfn-guard::lambda_inside_vpc_check', reason: 'Answers CloudFormation from outside the VPC.' },
    ];
    acknowledge(ours, ...rules);
    Validations.of(theirs).acknowledge(...rules);

    expect(acknowledgements(ours).map((m) => m.data)).toEqual(acknowledgements(theirs).map((m) => m.data));
    expect(acknowledgements(ours).map((m) => m.data)).toEqual([
      { 'annotation::AwsSolutions-COG4': rules[0].reason },
      { 'cfn-guard::lambda_inside_vpc_check': rules[1].reason },
    ]);
    expect(acknowledgements(theirs).every((m) => m.trace !== undefined)).toBe(true);
    expect(acknowledgements(ours).map((m) => m.trace)).toEqual([undefined, undefined]);
  });

  test('records the id of a finding on a resource holding a reference as it is, which Validations refuses', () => {
    const id = 'AwsSolutions-IAM5[Resource::arn:*:logs:<AWS::Region>:<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*]';
    expect(() => Validations.of(construct('Theirs')).acknowledge({ id, reason: 'x' })).toThrow(/delimiter/);
    const ours = construct('Ours');
    acknowledge(ours, { id, reason: 'The narrowest prefix.' });
    expect(acknowledgements(ours).map((m) => m.data)).toEqual([{ [id]: 'The narrowest prefix.' }]);
  });

  test('acknowledges the rule\'s warnings on the construct, as Validations does', () => {
    const ours = construct('Ours');
    Annotations.of(ours).addWarningV2('annotation::AwsSolutions-COG4', 'no Cognito authorizer');
    Annotations.of(ours).addWarningV2('annotation::AwsSolutions-APIG4', 'no authorization');
    acknowledge(ours, { id: 'AwsSolutions-COG4', reason: 'IAM authorization.' });
    const warnings = ours.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringContaining('no authorization')]);
  });

  test('refuses an id with an empty prefix', () => {
    expect(() => acknowledge(construct('Ours'), { id: '::AwsSolutions-COG4', reason: 'x' })).toThrow(/invalid rule id ::AwsSolutions-COG4/);
  });
});

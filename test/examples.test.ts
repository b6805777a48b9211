/**
 * The example apps the README's main command synthesizes: zero unacknowledged cdk-nag findings in four
 * packs and zero cfn-guard (Control Tower) findings, no warnings (`cdk synth --strict`), and a stable
 * template (asset hashes stripped).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations, App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { CHECKS_FILE, checkExample, ExampleChecks, ExampleModule, Finding } from '../examples/synth-all';

const EXAMPLES = path.join(__dirname, '..', 'examples');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts') && f !== 'synth-all.ts');

function stripHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}(\.zip)?/g, '[ASSET HASH]'));
}

test('there are the four example apps', () => {
  expect(files).toEqual(expect.arrayContaining(['aurora-postgres-serverless.ts', 'existing-mysql-instance.ts', 'multi-tenant-oidc.ts', 'private-container-backend.ts']));
});

/**
 * Each example's findings, warnings and templates. CI runs the main job (`npx projen examples`) first and sets
 * SECURE_DB_API_EXAMPLES_CHECKED=1: then this file reads what the main job wrote into examples/cdk.out.<example>/
 * (its checks.json and cloud assembly) instead of synthesizing and checking every example a second time.
 */
function results(file: string): { findings: Finding[]; warnings: string[]; templates: Array<{ name: string; template: unknown }> } {
  if (process.env.SECURE_DB_API_EXAMPLES_CHECKED === '1') {
    const outdir = path.join(EXAMPLES, `cdk.out.${path.basename(file, '.ts')}`);
    const checks = JSON.parse(readFileSync(path.join(outdir, CHECKS_FILE), 'utf8')) as ExampleChecks;
    const assembly = new CloudAssembly(outdir);
    return { ...checks, templates: checks.stacks.map((name) => ({ name, template: assembly.getStackByName(name).template })) };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(EXAMPLES, file)) as ExampleModule;
  const { stacks, findings, warnings } = checkExample(mod, mkdtempSync(path.join(os.tmpdir(), 'sdba-example-')));
  return { findings, warnings, templates: stacks.map((st) => ({ name: st.stackName, template: Template.fromStack(st).toJSON() })) };
}

describe.each(files)('example %s', (file) => {
  const { templates, findings, warnings } = results(file);

  test('has no unacknowledged cdk-nag or cfn-guard findings', () => {
    expect(findings).toEqual([]);
  });

  test('synthesizes without warnings (cdk synth --strict)', () => {
    expect(warnings).toEqual([]);
  });

  test('matches its snapshot', () => {
    for (const { name, template } of templates) expect(stripHashes(template)).toMatchSnapshot(name);
  });
});

test('the checks do report findings: an unrestricted key and an inline wildcard policy fail', () => {
  const { findings } = checkExample({
    build(app: App) {
      const stack = new Stack(app, 'Bad', { env: { account: '123456789012', region: 'eu-west-1' } });
      new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
      return [stack];
    },
  }, mkdtempSync(path.join(os.tmpdir(), 'sdba-bad-')));
  const rules = findings.map((f) => `${f.pack}:${f.rule}`);
  expect(rules).toEqual(expect.arrayContaining([
    'cfn-guard:kms_create_grant_aws_service_check',
    'AwsSolutions:AwsSolutions-IAM5[Resource::*]',
    'HIPAA.Security:HIPAA.Security-IAMNoInlinePolicy',
    'NIST.800.53.R5:NIST.800.53.R5-IAMNoInlinePolicy',
    'PCI.DSS.321:PCI.DSS.321-IAMNoInlinePolicy',
  ]));
});

test('the checks report warnings, which cdk synth --strict fails on', () => {
  const { warnings } = checkExample({
    build(app: App) {
      const stack = new Stack(app, 'Warned', { env: { account: '123456789012', region: 'eu-west-1' } });
      Annotations.of(stack).addWarningV2('test:warned', 'something to look at');
      return [stack];
    },
  }, mkdtempSync(path.join(os.tmpdir(), 'sdba-warned-')));
  expect(warnings).toEqual([expect.stringMatching(/^warning .*something to look at/)]);
});

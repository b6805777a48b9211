/**
 * Runs one integration test app (test/integ/integ.<example>.ts) as integ-runner runs it: integ-runner's
 * recommended feature flags as context, beneath the context the CDK CLI passes (the CLI's own `--context`
 * values are strings only, and a feature flag set to the string "false" is on). scripts/integ-deploy.ts
 * gives it to the CDK CLI as `--app`; test/integ-snapshots.test.ts synthesizes with the same context.
 *
 *   node -r ts-node/register scripts/integ-app.ts test/integ/integ.<example>.ts
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..');
export const INTEG_DIR = path.join(ROOT, 'test', 'integ');

/** What integ-runner synthesizes its snapshot apps with (runner-base.js DEFAULT_SYNTH_OPTIONS). */
export const INTEG_RUNNER_ENV = {
  CDK_INTEG_ACCOUNT: '12345678',
  CDK_INTEG_REGION: 'test-region',
  CDK_INTEG_HOSTED_ZONE_ID: 'Z23ABC4XYZL05B',
  CDK_INTEG_HOSTED_ZONE_NAME: 'example.com',
  CDK_INTEG_DOMAIN_NAME: '*.example.com',
  CDK_INTEG_CERT_ARN: 'arn:aws:acm:test-region:12345678:certificate/86468209-a272-595d-b831-0efb6421265z',
  CDK_INTEG_SUBNET_ID: 'subnet-0dff1a399d8f6f92c',
};

/**
 * The answers to the lookups of an app in integ-runner's fixed environment (INTEG_RUNNER_ENV), so that the
 * dry run, which has no credentials, synthesizes an app in an explicit environment (the VPC's zones): the
 * dummy values aws-cdk-lib synthesizes the snapshots with, so the CLI's synthesis is the snapshot.
 */
export const INTEG_RUNNER_LOOKUPS = {
  [`availability-zones:account=${INTEG_RUNNER_ENV.CDK_INTEG_ACCOUNT}:region=${INTEG_RUNNER_ENV.CDK_INTEG_REGION}`]: ['dummy1a', 'dummy1b', 'dummy1c'],
};

/** The integration tests, by file name (integ.<example>.ts). */
export function integTestFiles(): string[] {
  return readdirSync(INTEG_DIR).filter((f) => /^integ\..+\.ts$/.test(f)).sort();
}

/** integ-runner's context for apps without lookups: its recommended feature flags, target partitions unset. */
export function integRunnerContext(): Record<string, unknown> {
  const flags = JSON.parse(readFileSync(require.resolve('@aws-cdk/integ-runner/lib/recommended-feature-flags.json'), 'utf8'));
  delete flags['@aws-cdk/core:target-partitions'];
  return flags;
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node -r ts-node/register scripts/integ-app.ts test/integ/integ.<example>.ts\n');
    process.exit(2);
  }
  const given: Record<string, unknown> = process.env.CDK_CONTEXT_JSON ? JSON.parse(process.env.CDK_CONTEXT_JSON) : {};
  const lookups = process.env.CDK_INTEG_ACCOUNT === INTEG_RUNNER_ENV.CDK_INTEG_ACCOUNT ? INTEG_RUNNER_LOOKUPS : {};
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...integRunnerContext(), ...lookups, ...given });
  // The app synthesizes when it is loaded, as `node integ.<example>.ts` would run it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(path.resolve(file));
}

/**
 * `npx projen integ:deploy` (scripts/integ-deploy.ts) without an AWS account: the aws-cdk CLI it deploys
 * with reads every integration test's assembly (integ-runner's bundled CLI cannot), a failed assertion
 * fails the deployment, and the order deploy, assert, destroy holds, with destroy also after a failure.
 * Nothing here calls AWS: the dry run has no credentials, and the deployment tests use a stand-in CLI.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { INTEG_DIR, integTestFiles } from '../scripts/integ-app';
import { main } from '../scripts/integ-deploy';

const snapshotDir = (file: string) => path.join(INTEG_DIR, `${file}.snapshot`);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** The stacks of a committed snapshot, as `cdk ls` names them. */
function snapshotStacks(file: string): string[] {
  const manifest = readJson(path.join(snapshotDir(file), 'manifest.json'));
  return Object.values(manifest.artifacts as Record<string, { type: string; displayName?: string }>)
    .filter((a) => a.type === 'aws:cloudformation:stack')
    .map((a) => a.displayName ?? '');
}

/** Runs the script's main in this process and returns its exit code and what it printed. */
async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let out = '';
  const write = (chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(write);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(write);
  try {
    return { code: await main(argv), out };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('every assertion of the integration tests fails the deployment when it fails', () => {
  const assertionTemplates = integTestFiles().flatMap((file) => readdirSync(snapshotDir(file))
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => readJson(path.join(snapshotDir(file), f)))
    .filter((t) => Object.values(t.Resources as Record<string, { Type: string }>).some((r) => r.Type.startsWith('Custom::DeployAssert@SdkCall')))
    .map((t) => [file, t] as const));

  test('each integration test has an assertion stack', () => {
    expect(assertionTemplates.map(([file]) => file)).toEqual(integTestFiles());
  });

  test.each(assertionTemplates)('%s: every asserted call has an EqualsAssertion with failDeployment', (_file, json) => {
    const template = Template.fromJSON(json);
    const resources = json.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const asserted = Object.keys(resources).filter((id) => resources[id].Type.startsWith('Custom::DeployAssert@SdkCall') && 'expected' in resources[id].Properties);
    expect(asserted.length).toBeGreaterThan(0);
    for (const call of asserted) {
      template.hasResourceProperties('Custom::DeployAssert@AssertEquals', {
        actual: { 'Fn::GetAtt': [call, 'assertion'] },
        expected: JSON.stringify({ $ObjectLike: { status: 'success' } }),
        failDeployment: true,
      });
    }
  });
});

/** Templates and the test manifest, without what changes on every synthesis (as test/integ-snapshots.test.ts compares). */
function templatesOf(dir: string): Record<string, unknown> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.template.json') || f === 'integ.json').sort();
  return Object.fromEntries(files.map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')
    .replace(/[0-9a-f]{64}/g, '[ASSET HASH]')
    .replace(/"salt": ?"\d+"/g, '"salt": "[SALT]"'))]));
}

describe('the dry run', () => {
  const output = mkdtempSync(path.join(os.tmpdir(), 'sdba-integ-dry-run-'));
  let result: { code: number; out: string };
  beforeAll(async () => {
    result = await run(['--dry-run', '--output', output]);
  }, 600_000);
  afterAll(() => rmSync(output, { recursive: true, force: true }));

  test('the CDK CLI synthesizes every integration test and lists its stacks', () => {
    const { code, out } = result;
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining(`${integTestFiles().length} passed, 0 failed`) });
    for (const file of integTestFiles()) {
      const version = readJson(path.join(snapshotDir(file), 'manifest.json')).version;
      const section = out.slice(out.indexOf(`PASS  ${file}`));
      expect(section).toContain(`synthesized: cloud assembly schema ${version}`);
      for (const stack of snapshotStacks(file)) expect(section).toContain(`stack: ${stack}\n`);
    }
  });

  test.each(integTestFiles())('%s: what the CLI synthesizes to deploy is the committed snapshot', (file) => {
    expect(templatesOf(path.join(output, file))).toEqual(templatesOf(snapshotDir(file)));
  });

  test('the options after projen\'s -- are read, and an unknown one is refused', async () => {
    const { code, out } = await run(['--', '--region', 'eu-west-1', '--bogus']);
    expect(code).toBe(2);
    expect(out).toMatch(/^unknown option --bogus\nusage: npx projen integ:deploy/);
  });

  test('an unknown test is refused with the tests there are', async () => {
    const { code, out } = await run(['--dry-run', 'no-such-example']);
    expect(code).toBe(2);
    expect(out).toMatch(/no integration test no-such-example; the tests: aurora-postgres-serverless, /);
  });
});

/**
 * A stand-in for the CDK CLI: records each call, "synthesizes" a test's committed snapshot, and fails
 * the step FAKE_CDK_FAIL names; `--outputs-file` gets FAKE_CDK_OUTPUTS.
 */
const FAKE_CDK = `
const fs = require('fs'); const path = require('path');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_CDK_LOG, JSON.stringify({ args, region: process.env.AWS_REGION }) + '\\n');
const opt = (name) => args[args.indexOf(name) + 1];
const step = args[0] === 'deploy' && args.includes('--exclusively') ? 'assert' : args[0];
if (step === 'synth') fs.cpSync(path.join(process.env.INTEG_DIR, path.basename(opt('--app')) + '.snapshot'), opt('--output'), { recursive: true });
if (args.includes('--outputs-file')) fs.writeFileSync(opt('--outputs-file'), process.env.FAKE_CDK_OUTPUTS || '{}');
process.exit(process.env.FAKE_CDK_FAIL === step ? 1 : 0);
`;

describe('a deployment (stand-in CLI)', () => {
  const FILE = 'integ.existing-mysql-instance.ts';
  const ASSERTIONS = 'SecureDbApiExistingMysqlInteg/DefaultTest/DeployAssert';
  let dir: string;
  let cli: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-fake-cdk-'));
    cli = path.join(dir, 'cdk.js');
    writeFileSync(cli, FAKE_CDK);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function deploy(env: Record<string, string> = {}, argv: string[] = []) {
    const log = path.join(dir, `log-${Math.random().toString(36).slice(2)}`);
    writeFileSync(log, '');
    const result = await run(['existing-mysql-instance', ...argv], { INTEG_DEPLOY_CDK_CLI: cli, FAKE_CDK_LOG: log, INTEG_DIR, ...env });
    const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[]; region?: string });
    return { ...result, calls };
  }

  test('deploys the test stacks, then the assertion stack, then destroys everything', async () => {
    const outputs = { SecureDbApiExistingMysqlIntegDefaultTestDeployAssert0E959111: { AssertionResultsFailsDeploymentabc: '{"status":"success"}', Other: 'x' } };
    const { code, out, calls } = await deploy({ FAKE_CDK_OUTPUTS: JSON.stringify(outputs) }, ['--profile', 'integ', '--region', 'eu-west-1']);
    expect(code).toBe(0);
    expect(calls.map((c) => c.args.filter((a) => !a.startsWith('/') && !a.includes(' ')))).toEqual([
      ['synth', '--app', '--output', '--quiet', '--no-version-reporting', '--no-path-metadata', '--no-asset-metadata', '--profile', 'integ', '--no-notices'],
      ['deploy', '--app', '--profile', 'integ', 'SecureDbApiIntegExistingMysql', '--require-approval', 'never', '--no-notices'],
      ['deploy', '--app', '--profile', 'integ', '--exclusively', ASSERTIONS, '--require-approval', 'never', '--outputs-file', '--no-notices'],
      ['destroy', '--app', '--profile', 'integ', '--all', '--force', '--no-notices'],
    ]);
    expect(calls.map((c) => c.region)).toEqual(['eu-west-1', 'eu-west-1', 'eu-west-1', 'eu-west-1']);
    expect(out).toContain(`PASS  ${FILE}`);
    expect(out).toContain('1 of 1 assertion results passed');
  });

  test('a failed assertion fails the command, and the stacks are destroyed', async () => {
    const { code, out, calls } = await deploy({ FAKE_CDK_FAIL: 'assert' });
    expect(code).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(['synth', 'deploy', 'deploy', 'destroy']);
    expect(out).toContain(`FAIL  ${FILE}`);
    expect(out).toMatch(/the assertions failed \(deploying .*DeployAssert failed, exit 1/);
    expect(out).toContain('destroyed');
  });

  test('a failed deployment of the test stacks skips the assertions and destroys', async () => {
    const { code, calls } = await deploy({ FAKE_CDK_FAIL: 'deploy' });
    expect(code).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(['synth', 'deploy', 'destroy']);
  });

  test('an assertion result that says fail fails the command', async () => {
    const outputs = { Assertions: { AssertionResultsX: '{"status":"fail","message":"expected 15, got 10"}' } };
    const { code, out } = await deploy({ FAKE_CDK_OUTPUTS: JSON.stringify(outputs) });
    expect(code).toBe(1);
    expect(out).toContain('AssertionResultsX: expected 15, got 10');
  });

  test('a failed destroy fails the command and says what is left', async () => {
    const { code, out } = await deploy({ FAKE_CDK_FAIL: 'destroy' });
    expect(code).toBe(1);
    expect(out).toMatch(/cdk destroy failed \(exit 1\): delete the stacks by hand/);
  });
});

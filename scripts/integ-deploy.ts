/**
 * `npx projen integ:deploy`: deploys each integration test (test/integ/integ.<example>.ts) with the CDK
 * CLI, runs its assertions and destroys it.
 *
 * integ-runner's job, done with the `aws-cdk` CLI: the latest @aws-cdk/integ-runner (2.197.10) bundles CLI
 * 2.1115, which cannot read the cloud assembly schema 54 that aws-cdk-lib 2.258 writes. For each test:
 *
 * 1. `cdk synth` of the app the snapshot test synthesizes (scripts/integ-app.ts: integ-runner's feature
 *    flags), into a fresh directory; its integ.json names the test cases' stacks and assertion stacks;
 * 2. `cdk deploy` of each test case's stacks (with the stacks they depend on), then of its assertion stack
 *    (the assertions run as it is created; a failed one fails the deployment: test/integ/fixtures
 *    `failsDeployment`), with `--require-approval never` and the stack outputs in a file;
 * 3. the assertion results in those outputs (`AssertionResults...`, as integ-runner reads them);
 * 4. always, also after a failure: `cdk destroy --all --force` of the synthesized app.
 *
 * Exits nonzero when anything failed, after a summary.
 *
 *   npx projen integ:deploy [-- [--region R] [--profile P] [--dry-run] [--output DIR] [test ...]]
 *
 * `test` is an example name (`aurora-postgres-serverless`) or file (`integ.aurora-postgres-serverless.ts`);
 * all tests when none is given. `--dry-run` only synthesizes with the CLI and lists the stacks, without
 * credentials (no AWS call), in integ-runner's fixed environment: the assemblies are the snapshots.
 * `--output DIR` keeps the assemblies in DIR/integ.<example>.ts. INTEG_DEPLOY_CDK_CLI names another CLI entry point (the tests' stand-in).
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { INTEG_DIR, INTEG_RUNNER_ENV, integTestFiles, ROOT } from './integ-app';

const USAGE = 'usage: npx projen integ:deploy [-- [--region REGION] [--profile PROFILE] [--dry-run] [--output DIR] [test ...]]';

export interface Options {
  readonly tests: string[];
  readonly region?: string;
  readonly profile?: string;
  readonly dryRun: boolean;
  /** Where the cloud assemblies go (DIR/integ.<example>.ts, kept); a temporary directory when not given. */
  readonly output?: string;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], available: string[]): Options {
  const tests: string[] = [];
  let region: string | undefined;
  let profile: string | undefined;
  let dryRun = false;
  let output: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    // projen passes on the `--` that separates the task's arguments.
    if (argv[i] === '--') continue;
    const [flag, inline] = argv[i].startsWith('--') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (!v || v.startsWith('--')) throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--region') {
      region = value();
    } else if (flag === '--profile') {
      profile = value();
    } else if (flag === '--dry-run') {
      dryRun = true;
    } else if (flag === '--output') {
      output = path.resolve(value());
    } else if (flag.startsWith('-')) {
      throw new UsageError(`unknown option ${flag}\n${USAGE}`);
    } else {
      const file = /^integ\..+\.ts$/.test(flag) ? flag : `integ.${flag.replace(/\.ts$/, '')}.ts`;
      if (!available.includes(path.basename(file))) {
        throw new UsageError(`no integration test ${flag}; the tests: ${available.map((f) => f.replace(/^integ\.|\.ts$/g, '')).join(', ')}`);
      }
      tests.push(path.basename(file));
    }
  }
  return { tests: tests.length > 0 ? tests : available, region, profile, dryRun, output };
}

/** One step's outcome in the summary. */
interface Outcome {
  readonly test: string;
  readonly steps: string[];
  readonly failures: string[];
}

/** The test cases of a synthesized integ app (its integ.json). */
interface IntegManifest {
  readonly testCases: Record<string, { readonly stacks: string[]; readonly assertionStack?: string }>;
}

function cdkCli(): string {
  return process.env.INTEG_DEPLOY_CDK_CLI ?? require.resolve('aws-cdk/bin/cdk');
}

/** The environment the CLI (and the app it runs) gets. A dry run has no credentials, so it cannot call AWS. */
function cliEnv(options: Options, scratch: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.dev.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
  };
  if (options.dryRun) {
    for (const key of Object.keys(env)) if (key.startsWith('AWS_')) delete env[key];
    Object.assign(env, INTEG_RUNNER_ENV, {
      AWS_CONFIG_FILE: path.join(scratch, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(scratch, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    });
  }
  if (options.region) Object.assign(env, { AWS_REGION: options.region, AWS_DEFAULT_REGION: options.region });
  return env;
}

/** Runs the CLI in the test's scratch directory (its cdk.context.json, with the lookups it made, stays there). */
function cdk(args: string[], env: NodeJS.ProcessEnv, cwd: string, quiet: boolean): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cdkCli(), ...args, '--no-notices'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (!quiet) process.stdout.write(d);
    });
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && quiet) process.stderr.write(stderr);
      resolve({ code: code ?? 1, stdout });
    });
  });
}

/** `AssertionResults...` outputs (what integ-tests-alpha reports) that say `fail`, with their messages. */
export function failedAssertions(outputsFile: string): { total: number; failed: string[] } {
  if (!existsSync(outputsFile)) return { total: 0, failed: [] };
  const outputs: Record<string, Record<string, string>> = JSON.parse(readFileSync(outputsFile, 'utf8'));
  const results = Object.values(outputs).flatMap((stack) => Object.entries(stack).filter(([k]) => k.startsWith('AssertionResults')));
  const failed = results.flatMap(([key, value]) => {
    const result = JSON.parse(value) as { status?: string; message?: string };
    return result.status === 'fail' ? [`${key}: ${result.message ?? ''}`] : [];
  });
  return { total: results.length, failed };
}

async function runTest(file: string, options: Options): Promise<Outcome> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sdba-integ-deploy-'));
  const outdir = options.output ? path.join(options.output, file) : path.join(scratch, 'cdk.out');
  const env = cliEnv(options, scratch);
  const profile = options.profile ? ['--profile', options.profile] : [];
  const app = ['--app', outdir, ...profile];
  const steps: string[] = [];
  const failures: string[] = [];
  const quiet = options.dryRun;
  // No assembly of an earlier run in --output: the destroy below is of this run's stacks only.
  rmSync(outdir, { recursive: true, force: true });
  try {
    // The app runs in the repository, as the snapshot test runs it (NodejsFunction finds the lock file there).
    const appCommand = `cd "${ROOT}" && "${process.execPath}" -r ts-node/register scripts/integ-app.ts ${path.relative(ROOT, path.join(INTEG_DIR, file))}`;
    // As integ-runner synthesizes (and as the snapshots are): no version reporting, path or asset metadata.
    const synth = await cdk(['synth', '--app', appCommand, '--output', outdir, '--quiet', '--no-version-reporting', '--no-path-metadata', '--no-asset-metadata', ...profile], env, scratch, quiet);
    if (synth.code !== 0) {
      failures.push(`cdk synth failed (exit ${synth.code})`);
      return { test: file, steps, failures };
    }
    const assemblyVersion: string = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')).version;
    steps.push(`synthesized: cloud assembly schema ${assemblyVersion}`);
    const manifest: IntegManifest = JSON.parse(readFileSync(path.join(outdir, 'integ.json'), 'utf8'));

    if (options.dryRun) {
      const ls = await cdk(['ls', ...app], env, scratch, quiet);
      if (ls.code !== 0) failures.push(`cdk ls failed (exit ${ls.code})`);
      for (const [name, testCase] of Object.entries(manifest.testCases)) {
        steps.push(`${name}: would deploy ${testCase.stacks.join(', ')}, then ${testCase.assertionStack ?? '(no assertion stack)'}`);
      }
      steps.push(...ls.stdout.trim().split('\n').map((s) => `stack: ${s}`));
      return { test: file, steps, failures };
    }

    const outputsFile = path.join(outdir, 'assertion-results.json');
    for (const [name, testCase] of Object.entries(manifest.testCases)) {
      const deploy = await cdk(['deploy', ...app, ...testCase.stacks, '--require-approval', 'never'], env, scratch, quiet);
      if (deploy.code !== 0) {
        failures.push(`${name}: deploying ${testCase.stacks.join(', ')} failed (exit ${deploy.code})`);
        break;
      }
      steps.push(`${name}: deployed ${testCase.stacks.join(', ')}`);
      if (!testCase.assertionStack) continue;
      const assert = await cdk(['deploy', ...app, '--exclusively', testCase.assertionStack, '--require-approval', 'never', '--outputs-file', outputsFile], env, scratch, quiet);
      if (assert.code !== 0) {
        failures.push(`${name}: the assertions failed (deploying ${testCase.assertionStack} failed, exit ${assert.code}; the reason is in the CLI output above)`);
        break;
      }
      const assertions = failedAssertions(outputsFile);
      failures.push(...assertions.failed.map((f) => `${name}: ${f}`));
      steps.push(`${name}: ${assertions.total - assertions.failed.length} of ${assertions.total} assertion results passed`);
    }
  } finally {
    if (!options.dryRun && existsSync(path.join(outdir, 'manifest.json'))) {
      const destroy = await cdk(['destroy', ...app, '--all', '--force'], env, scratch, quiet);
      if (destroy.code === 0) steps.push('destroyed');
      else failures.push(`cdk destroy failed (exit ${destroy.code}): delete the stacks by hand (npx cdk destroy --app ${outdir} --all)`);
    }
    if (failures.length === 0) rmSync(scratch, { recursive: true, force: true });
  }
  return { test: file, steps, failures };
}

export async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv, integTestFiles());
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  const outcomes: Outcome[] = [];
  // A dry run synthesizes two at a time (quiet, one per core); deployments one after the other, their output readable.
  const batch = options.dryRun ? 2 : 1;
  for (let i = 0; i < options.tests.length; i += batch) {
    const tests = options.tests.slice(i, i + batch);
    if (!options.dryRun) process.stdout.write(`\n=== ${tests[0]} ===\n`);
    outcomes.push(...await Promise.all(tests.map((test) => runTest(test, options))));
  }
  const lines = [`\nintegration tests${options.dryRun ? ' (dry run: synthesized and listed, nothing deployed)' : ''}:`];
  for (const o of outcomes) {
    lines.push(`  ${o.failures.length === 0 ? 'PASS' : 'FAIL'}  ${o.test}`);
    lines.push(...o.steps.map((s) => `          ${s}`));
    lines.push(...o.failures.map((f) => `        ! ${f}`));
  }
  const failed = outcomes.filter((o) => o.failures.length > 0).length;
  lines.push(`${outcomes.length - failed} passed, ${failed} failed`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code), (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}

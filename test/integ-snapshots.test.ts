/**
 * The integration tests (test/integ/integ.<example>.ts, one per app in examples/) still synthesize to their
 * committed snapshots (test/integ/integ.<example>.ts.snapshot, integ-runner's layout), without an AWS
 * account. Each app is synthesized as integ-runner synthesizes it for its snapshot check: its
 * recommended feature flags as context, its fixed CDK_INTEG_* environment; assets are left out of the
 * snapshots, as integ-runner leaves them out.
 *
 * integ-runner itself cannot read these assemblies: the latest @aws-cdk/integ-runner (2.197.10) bundles
 * CLI 2.1115, which reads cloud assembly schema 53, and aws-cdk-lib 2.258 writes 54. So this test is the
 * snapshot check, `UPDATE_INTEG_SNAPSHOTS=1` (`npx projen integ:update`) rewrites the snapshots after an
 * intended change, and `npx projen integ:deploy` (scripts/integ-deploy.ts) deploys with the aws-cdk CLI.
 */
import { spawn } from 'child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { INTEG_RUNNER_ENV, integRunnerContext as recommendedFlags } from '../scripts/integ-app';

const ROOT = path.join(__dirname, '..');
const INTEG = path.join(__dirname, 'integ');
const UPDATE = process.env.UPDATE_INTEG_SNAPSHOTS === '1';

/** integ-runner's context (scripts/integ-app.ts, as integ:deploy synthesizes), without stack traces as the CLI. */
function integRunnerContext(): Record<string, unknown> {
  return { ...recommendedFlags(), 'aws:cdk:disable-stack-trace': true };
}

function synth(file: string, outdir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', path.join(INTEG, file)], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...INTEG_RUNNER_ENV,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(integRunnerContext()),
        TS_NODE_PROJECT: 'tsconfig.dev.json',
        TS_NODE_TRANSPILE_ONLY: 'true',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} did not synthesize (exit ${code}):\n${stderr}`))));
  });
}

/** Templates and the test manifest, without what changes on every synthesis (asset hashes, assertion salts). */
function snapshotOf(dir: string): Record<string, unknown> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.template.json') || f === 'integ.json').sort();
  return Object.fromEntries(files.map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')
    .replace(/[0-9a-f]{64}/g, '[ASSET HASH]')
    .replace(/"salt": ?"\d+"/g, '"salt": "[SALT]"'))]));
}

function withoutTraces(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((e) => (e as { type?: string } | null)?.type !== 'aws:cdk:creationStack').map(withoutTraces);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'trace').map(([k, v]) => [k, withoutTraces(v)]));
  }
  return value;
}

const examples = readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.ts') && f !== 'synth-all.ts');
const integFiles = readdirSync(INTEG).filter((f) => /^integ\..+\.ts$/.test(f)).sort();

test('every example app has its integration test', () => {
  expect(integFiles).toEqual(examples.map((f) => `integ.${f}`).sort());
});

describe('integration test snapshots', () => {
  const outdirs = new Map<string, string>();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sdba-integ-'));

  beforeAll(async () => {
    // Two at a time: one per core.
    for (let i = 0; i < integFiles.length; i += 2) {
      await Promise.all(integFiles.slice(i, i + 2).map((file) => {
        const outdir = path.join(tmp, file);
        outdirs.set(file, outdir);
        return synth(file, outdir);
      }));
    }
  }, 600_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test.each(integFiles)('%s synthesizes to its committed snapshot', (file) => {
    const snapshot = path.join(INTEG, `${file}.snapshot`);
    const actual = outdirs.get(file) ?? '';
    if (UPDATE) {
      rmSync(snapshot, { recursive: true, force: true });
      cpSync(actual, snapshot, { recursive: true, filter: (src) => !/\/asset\.[^/]+$/.test(src) });
      // Construction stacks and acknowledgement traces hold this machine's paths: not part of the snapshot.
      for (const f of readdirSync(snapshot).filter((n) => n.endsWith('.metadata.json'))) {
        const metadata = path.join(snapshot, f);
        writeFileSync(metadata, JSON.stringify(withoutTraces(JSON.parse(readFileSync(metadata, 'utf8'))), undefined, 1));
      }
    }
    expect(existsSync(snapshot)).toBe(true);
    expect(snapshotOf(actual)).toEqual(snapshotOf(snapshot));
  });
});

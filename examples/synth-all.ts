/**
 * The main job: synthesizes every example app, checks each stack with the cdk-nag packs AwsSolutions,
 * HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1, and prints a summary. Exits non-zero on any
 * unacknowledged finding, and on any warning or error annotation (as `cdk synth --strict` does).
 */
import { readdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { IConstruct, Node } from 'constructs';
import { SecureDbApi } from '../src';

export interface ExampleModule {
  build(app: App): Stack[];
}

export interface Finding {
  readonly pack: string;
  readonly rule: string;
  readonly path: string;
}

/** Whether the resource `logicalId` of `stack`, or a construct above it, acknowledges cfn-guard's `rule`. */
function guardAcknowledged(stack: Stack, logicalId: string, rule: string): boolean {
  const resource = stack.node.findAll().find((c) => CfnResource.isCfnResource(c) && stack.resolve(c.logicalId) === logicalId);
  // Validations.acknowledge records an id without a `prefix::` as `annotation::<id>`.
  const ids = [`cfn-guard:${rule}`, `annotation::cfn-guard:${rule}`];
  for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
    for (const entry of c.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && ids.some((id) => id in (entry.data as Record<string, string>))) return true;
    }
  }
  return false;
}

/** The main job's results per example, beside its cloud assembly in examples/cdk.out.<example>/. */
export interface ExampleChecks {
  readonly findings: Finding[];
  readonly warnings: string[];
  readonly stacks: string[];
}
export const CHECKS_FILE = 'checks.json';

/** The cdk-nag packs every example is checked with, by the names they report under. */
export const NAG_PACKS = ['AwsSolutions', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'];

/**
 * Synthesizes one example and returns its unacknowledged findings and its warnings (`cdk synth --strict` fails
 * on them). `progress` hears of each step as it starts.
 */
export function checkExample(
  mod: ExampleModule, outdir: string, progress: (step: string) => void = () => {},
): { stacks: Stack[]; findings: Finding[]; warnings: string[] } {
  const app = new App({ outdir });
  progress('building the app');
  const stacks = mod.build(app);
  progress('synthesizing');
  const assembly = app.synth();
  const warnings = assembly.stacks.flatMap((s) => s.messages)
    .filter((m) => m.level === 'warning' || m.level === 'error')
    .map((m) => `${m.level} ${m.id}: ${String(m.entry.data)}`);
  const findings: Finding[] = [];
  // cfn-guard with the bundled AWS Control Tower proactive controls, on the synthesized templates. A finding
  // is acknowledged on its resource (or an ancestor) as `cfn-guard:<rule>`, with a reason.
  progress('cfn-guard');
  const guard = new CfnGuardValidator().validate({ templatePaths: assembly.stacks.map((s) => s.templateFullPath), appConstruct: app });
  for (const v of guard.violations) {
    for (const r of v.violatingResources) {
      const stack = stacks.find((s) => path.basename(r.templatePath) === s.templateFile);
      if (stack && guardAcknowledged(stack, r.resourceLogicalId, v.ruleName)) continue;
      findings.push({ pack: 'cfn-guard', rule: v.ruleName, path: `${path.basename(r.templatePath)}#${r.resourceLogicalId}` });
    }
  }
  const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
  for (const stack of stacks) {
    progress(`cdk-nag on ${stack.stackName}`);
    for (const pack of packs) {
      const report = pack.validateScope(stack);
      for (const v of report.violations) {
        for (const r of v.violatingResources) findings.push({ pack: pack.readPackName, rule: v.ruleName, path: r.constructPath ?? '(unknown)' });
      }
    }
  }
  return { stacks, findings, warnings };
}

/** One acknowledgement metadata entry: who added it (the library or the example's code), where, how many ids. */
export interface Acknowledgement {
  readonly by: 'SecureDbApi' | 'the example';
  /** Construct path under the stack. */
  readonly path: string;
  /** The SecureDbApi whose tree holds the construct, if any. */
  readonly api?: string;
  readonly ids: number;
}

/**
 * Runs `fn` while recording every acknowledgement (cdk-nag and cfn-guard findings, `Validations.acknowledge` or
 * the metadata itself) with the source file that added it: src/ is the construct, anything else the example.
 */
export function recordAcknowledgements<T>(fn: () => T): { result: T; acknowledgements: Acknowledgement[] } {
  const acknowledgements: Acknowledgement[] = [];
  const library = `${path.join(__dirname, '..', 'src')}${path.sep}`;
  const original = Node.prototype.addMetadata;
  Node.prototype.addMetadata = function (this: Node, type: string, data: unknown, options?: Parameters<Node['addMetadata']>[2]) {
    if (type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
      const frames = (new Error().stack ?? '').split('\n').filter((f) => !f.includes('node_modules') && !f.includes(__filename));
      const caller = frames.find((f) => /\.ts:\d+/.test(f)) ?? '';
      const stack = Stack.of(this.scopes[this.scopes.length - 1]);
      const api = this.scopes.find((c) => c instanceof SecureDbApi);
      acknowledgements.push({
        by: caller.includes(library) ? 'SecureDbApi' : 'the example',
        path: this.path.slice(stack.node.path.length + 1),
        api: api?.node.path.slice(stack.node.path.length + 1),
        ids: Object.keys(data as Record<string, string>).length,
      });
    }
    return original.call(this, type, data, options);
  };
  try {
    return { result: fn(), acknowledgements };
  } finally {
    Node.prototype.addMetadata = original;
  }
}

/** Lines that say how many acknowledgements who made, and on which constructs. */
export function describeAcknowledgements(acks: Acknowledgement[]): string[] {
  const groups = new Map<string, Map<string, number>>();
  for (const a of acks) {
    const inside = a.api !== undefined && a.path.startsWith(`${a.api}/`);
    const label = a.by === 'SecureDbApi'
      ? (inside ? `by SecureDbApi ${a.api}, on its own resources` : 'by a SecureDbApi, on resources beside it')
      : 'by the example\'s own code';
    // Where: the API's part (Rest, Reader, ...) inside its tree, else the first two path segments under the stack.
    const where = inside ? a.path.slice(a.api!.length + 1).split('/')[0] : a.path.split('/').slice(0, 2).join('/');
    const counts = groups.get(label) ?? new Map<string, number>();
    counts.set(where, (counts.get(where) ?? 0) + a.ids);
    groups.set(label, counts);
  }
  const total = acks.reduce((n, a) => n + a.ids, 0);
  return [`acknowledged findings (each with a written reason, on one resource): ${total}`, ...[...groups].map(([label, counts]) => {
    const sum = [...counts.values()].reduce((x, y) => x + y, 0);
    return `  ${sum} ${label}: ${[...counts].sort((x, y) => y[1] - x[1]).map(([w, n]) => `${w} ${n}`).join(', ')}`;
  })];
}

if (require.main === module) {
  const examples = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && f !== 'synth-all.ts');
  let failed = 0;
  examples.forEach((file, i) => {
    const started = Date.now();
    const name = path.basename(file, '.ts');
    const progress = (step: string) => console.log(`[${i + 1}/${examples.length}] ${file}: ${step} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, file)) as ExampleModule;
    const outdir = path.join(__dirname, `cdk.out.${name}`);
    const { result: { stacks, findings, warnings }, acknowledgements } = recordAcknowledgements(() => checkExample(mod, outdir, progress));
    const resources = stacks.reduce((n, s) => n + Object.keys(Template.fromStack(s).toJSON().Resources ?? {}).length, 0);
    const pass = findings.length === 0 && warnings.length === 0;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`${pass ? 'PASS' : 'FAIL'} ${file}: ${stacks.map((s) => s.stackName).join(', ')} (${resources} resources, ${findings.length} unacknowledged findings, ${warnings.length} warnings, ${seconds} s)`);
    const perPack = [...NAG_PACKS, 'cfn-guard'].map((pack) => `${pack} ${findings.filter((f) => f.pack === pack).length}`);
    console.log(`  unacknowledged findings per pack: ${perPack.join(', ')}`);
    for (const line of describeAcknowledgements(acknowledgements)) console.log(`  ${line}`);
    console.log(`  templates: ${path.relative(process.cwd(), outdir)}/ (${stacks.map((s) => s.templateFile).join(', ')})`);
    // What test/examples.test.ts reads instead of synthesizing again when CI has just run this job.
    const checks: ExampleChecks = { findings, warnings, stacks: stacks.map((st) => st.stackName) };
    writeFileSync(path.join(outdir, CHECKS_FILE), JSON.stringify(checks, undefined, 2));
    for (const f of findings) console.log(`  finding ${f.pack} ${f.rule}  ${f.path}`);
    for (const w of warnings) console.log(`  ${w}`);
    if (!pass) failed++;
  });
  console.log('\nChecked with cdk-nag (AwsSolutions, HIPAA Security, NIST 800-53 R5, PCI DSS 3.2.1), cfn-guard (Control Tower controls) and for warnings (cdk synth --strict).');
  console.log(`examples: ${examples.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

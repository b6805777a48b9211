/**
 * The main job: synthesizes every example app, checks each stack with the cdk-nag packs AwsSolutions,
 * HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1, and prints a summary. Exits non-zero on any
 * unacknowledged finding, and on any warning or error annotation (as `cdk synth --strict` does).
 */
import { readdirSync } from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { IConstruct } from 'constructs';

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

/** Synthesizes one example and returns its unacknowledged findings and its warnings (`cdk synth --strict` fails on them). */
export function checkExample(mod: ExampleModule, outdir: string): { stacks: Stack[]; findings: Finding[]; warnings: string[] } {
  const app = new App({ outdir });
  const stacks = mod.build(app);
  const assembly = app.synth();
  const warnings = assembly.stacks.flatMap((s) => s.messages)
    .filter((m) => m.level === 'warning' || m.level === 'error')
    .map((m) => `${m.level} ${m.id}: ${String(m.entry.data)}`);
  const findings: Finding[] = [];
  // cfn-guard with the bundled AWS Control Tower proactive controls, on the synthesized templates. A finding
  // is acknowledged on its resource (or an ancestor) as `cfn-guard:<rule>`, with a reason.
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
    for (const pack of packs) {
      const report = pack.validateScope(stack);
      for (const v of report.violations) {
        for (const r of v.violatingResources) findings.push({ pack: pack.readPackName, rule: v.ruleName, path: r.constructPath ?? '(unknown)' });
      }
    }
  }
  return { stacks, findings, warnings };
}

if (require.main === module) {
  const examples = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && f !== 'synth-all.ts');
  let failed = 0;
  for (const file of examples) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, file)) as ExampleModule;
    const { stacks, findings, warnings } = checkExample(mod, path.join(__dirname, `cdk.out.${path.basename(file, '.ts')}`));
    const resources = stacks.reduce((n, s) => n + Object.keys(Template.fromStack(s).toJSON().Resources ?? {}).length, 0);
    const pass = findings.length === 0 && warnings.length === 0;
    console.log(`${pass ? 'PASS' : 'FAIL'} ${file}: ${stacks.map((s) => s.stackName).join(', ')} (${resources} resources, ${findings.length} unacknowledged findings, ${warnings.length} warnings)`);
    for (const f of findings) console.log(`  ${f.rule}  ${f.path}`);
    for (const w of warnings) console.log(`  ${w}`);
    if (!pass) failed++;
  }
  console.log('\nChecked with cdk-nag (AwsSolutions, HIPAA Security, NIST 800-53 R5, PCI DSS 3.2.1), cfn-guard (Control Tower controls) and for warnings (cdk synth --strict).');
  console.log(`examples: ${examples.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

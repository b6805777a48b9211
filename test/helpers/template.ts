import { Template } from 'aws-cdk-lib/assertions';

/** A resource of a synthesized template, its properties typed by what a test reads of them. */
export interface TemplateResource<P> {
  readonly Type: string;
  readonly Properties: P;
  readonly DependsOn?: string[];
  readonly DeletionPolicy?: string;
  /** `aws:asset:path` and the like. */
  readonly Metadata: Readonly<Record<string, string>>;
}

/** The resources of `type` (those matching `props`, when given), typed by what the test reads. */
export function resourcesOf<P>(t: Template, type: string, props?: object): Array<TemplateResource<P>> {
  return Object.values(t.findResources(type, props)) as Array<TemplateResource<P>>;
}

/** The resources of `type` (those matching `props`, when given) with their logical ids. */
export function resourceEntriesOf<P>(t: Template, type: string, props?: object): Array<[string, TemplateResource<P>]> {
  return Object.entries(t.findResources(type, props)) as Array<[string, TemplateResource<P>]>;
}

/** The one resource of `type` matching `props`; fails the test when there is not exactly one. */
export function onlyResourceOf<P>(t: Template, type: string, props?: object): TemplateResource<P> {
  const found = resourcesOf<P>(t, type, props);
  if (found.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(props)}, found ${found.length}`);
  return found[0];
}

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Properties of an IAM policy a test reads. */
export interface PolicyProperties {
  readonly PolicyDocument: { readonly Statement: readonly PolicyStatement[] };
}

/** Properties of an IAM role a test reads. */
export interface RoleProperties {
  readonly ManagedPolicyArns?: unknown[];
}

/** Properties of a security group a test reads. */
export interface SecurityGroupProperties {
  readonly GroupDescription: string;
  readonly SecurityGroupEgress?: unknown[];
  readonly SecurityGroupIngress?: unknown[];
}

/** Properties of a security group ingress or egress rule a test reads. */
export interface SecurityGroupRuleProperties {
  readonly GroupId: unknown;
}

/** Properties of a dashboard a test reads. */
export interface DashboardProperties {
  readonly DashboardBody: unknown;
}

/** Properties of a Lambda function a test reads. */
export interface FunctionProperties {
  readonly Description?: string;
  readonly Environment: { readonly Variables: Readonly<Record<string, unknown>> };
  readonly VpcConfig?: { readonly SubnetIds: unknown[] };
}

/** Properties of a CloudWatch alarm a test reads (a metric math alarm's metrics). */
export interface AlarmProperties {
  readonly Metrics: ReadonlyArray<{
    readonly Id: string;
    readonly MetricStat?: {
      readonly Metric: {
        readonly MetricName: string;
        readonly Namespace: string;
        readonly Dimensions: ReadonlyArray<{ readonly Name: string; readonly Value: unknown }>;
      };
      readonly Period: number;
      readonly Stat: string;
    };
  }>;
}

/** Properties of an API Gateway method a test reads. */
export interface MethodProperties {
  readonly AuthorizationType: string;
  readonly RequestValidatorId?: unknown;
  readonly Integration: {
    readonly Type: string;
    readonly IntegrationResponses: ReadonlyArray<{ readonly ResponseTemplates: Readonly<Record<string, { readonly 'Fn::Join': [string, Array<string | { readonly Ref: string }>] }>> }>;
  };
}

/** Properties of an API Gateway request model a test reads. */
export interface ModelProperties {
  readonly Schema: { readonly $schema?: string; readonly properties?: unknown; readonly required?: unknown; readonly [key: string]: unknown };
}

/** Properties of an API Gateway stage a test reads. */
export interface StageProperties {
  readonly AccessLogSetting: { readonly Format: string };
}

import { Template } from 'aws-cdk-lib/assertions';

/** A resource of a synthesized template, its properties typed by what a test reads of them. */
export interface TemplateResource<P> {
  readonly Type: string;
  readonly Properties: P;
}

/** The resources of `type` (those matching `props`, when given), typed by what the test reads. */
export function resourcesOf<P>(t: Template, type: string, props?: object): Array<TemplateResource<P>> {
  return Object.values(t.findResources(type, props)) as Array<TemplateResource<P>>;
}

/** Properties of an IAM policy a test reads. */
export interface PolicyProperties {
  readonly PolicyDocument: { readonly Statement: ReadonlyArray<{ readonly Action: unknown; readonly Resource: unknown }> };
}

/** Properties of a security group a test reads. */
export interface SecurityGroupProperties {
  readonly SecurityGroupEgress?: unknown[];
  readonly SecurityGroupIngress?: unknown[];
}

/** Properties of a dashboard a test reads. */
export interface DashboardProperties {
  readonly DashboardBody: unknown;
}

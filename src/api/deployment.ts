import { createHash } from 'crypto';
import { AspectPriority, Aspects, CfnOutput, CfnResource, IResolvable, IResolveContext, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { IConstruct } from 'constructs';

/** The API Gateway resources a deployment takes a snapshot of: a change to any of them needs a new deployment. */
const DEPLOYED_TYPES: ReadonlySet<string> = new Set([
  apigw.CfnRestApi.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnResource.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnMethod.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnModel.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnRequestValidator.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnGatewayResponse.CFN_RESOURCE_TYPE_NAME,
  apigw.CfnAuthorizer.CFN_RESOURCE_TYPE_NAME,
]);

/**
 * A digest of everything an API's deployment holds: the resolved CloudFormation properties of the
 * RestApi and of every resource, method, model, validator, gateway response and authorizer of it in the
 * stack (also those added outside the construct, for example through `SecureDbApi.api.root`).
 *
 * aws-cdk-lib's own deployment (RestApi `deploy: true`) hashes the same kinds of resources, but
 * recomputes the hash each time its logical ID is resolved, seven times per synthesis, which made it
 * the largest cost per route of synthesizing an API. This digest is computed once, when the construct
 * tree is complete (`seal`, from a read-only aspect, which runs after every mutating aspect such as
 * SecureDbApi's own route builder); resolutions before that compute it afresh, so a value is never
 * taken from an unfinished tree. Preparation may still turn references to other stacks into imports;
 * the digest then names the referenced resource as written, which changes exactly when it changes.
 * (aws-cdk-lib refuses a second synthesis of a tree modified after the first, so the kept digest
 * cannot go stale that way.)
 */
export class DeployedConfigurationDigest implements IResolvable {
  public readonly creationStack: string[] = [];
  private sealed?: string;

  constructor(private readonly api: apigw.RestApi) {}

  public resolve(_context: IResolveContext): string {
    return this.sealed ?? this.compute();
  }

  /** Computes the digest of the complete tree and keeps it for later resolutions. */
  public seal(): void {
    this.sealed = this.compute();
  }

  public toString(): string {
    return 'DeployedConfigurationDigest';
  }

  private compute(): string {
    const stack = Stack.of(this.api);
    const restApi = this.api.node.defaultChild as CfnResource;
    const ownRef = JSON.stringify(stack.resolve(restApi.ref));
    const hash = createHash('sha256');
    for (const c of stack.node.findAll()) {
      if (!CfnResource.isCfnResource(c) || !DEPLOYED_TYPES.has(c.cfnResourceType) || Stack.of(c) !== stack) continue;
      // aws-cdk-lib renders a resource with `_toCloudFormation()` (its own deployment hashes the RestApi so too).
      const rendered = stack.resolve(c._toCloudFormation()) as Record<string, Record<string, { Type: string; Properties?: { RestApiId?: unknown } }>>;
      for (const [logicalId, resource] of Object.entries(rendered.Resources ?? {})) {
        if (c !== restApi && JSON.stringify(resource.Properties?.RestApiId) !== ownRef) continue;
        // What API Gateway receives; metadata and dependencies do not change the deployed API.
        hash.update(JSON.stringify([logicalId, resource.Type, resource.Properties ?? {}])).update('\n');
      }
    }
    return hash.digest('hex');
  }
}

/** The stage's options (as RestApi's `deployOptions`) and the deployment's description. */
export interface ApiDeploymentOptions {
  readonly stageOptions: apigw.StageOptions;
  readonly description: string;
}

/**
 * The API's deployment and stage, made as aws-cdk-lib's RestApi makes them with `deploy: true` (same
 * construct ids, hence the same logical IDs for the stage and the endpoint output), but with a
 * deployment whose logical ID carries a digest computed once per synthesis (see
 * DeployedConfigurationDigest). The API must be created with `deploy: false`.
 *
 * The deployment depends on every resource and method under the root and on every gateway response
 * of the API (nothing refers to those), also those added after the construct, so CloudFormation takes
 * the snapshot once they are in place; models, validators and authorizers are referred to by methods.
 */
export class ApiDeployment {
  public readonly deployment: apigw.Deployment;
  public readonly stage: apigw.Stage;
  private readonly digest: DeployedConfigurationDigest;

  constructor(private readonly api: apigw.RestApi, options: ApiDeploymentOptions) {
    this.deployment = new apigw.Deployment(api, 'Deployment', { api, description: options.description });
    this.digest = new DeployedConfigurationDigest(api);
    this.deployment.addToLogicalId(this.digest);
    this.deployment.node.addDependency(api.root);
    // After every mutating aspect (SecureDbApi builds its routes in one), before preparation.
    const complete = {
      visit: (node: IConstruct) => {
        if (node !== this.deployment) return;
        this.dependOnGatewayResponses();
        this.digest.seal();
      },
    };
    Aspects.of(this.deployment).add(complete, { priority: AspectPriority.READONLY });
    const stageName = options.stageOptions.stageName ?? 'prod';
    this.stage = new apigw.Stage(api, `DeploymentStage.${stageName}`, { deployment: this.deployment, ...options.stageOptions });
    api.deploymentStage = this.stage;
    new CfnOutput(api, 'Endpoint', { value: api.urlForPath() });
  }

  /** Makes the deployment wait for the API's gateway responses, like aws-cdk-lib's own deployment. */
  private dependOnGatewayResponses(): void {
    const stack = Stack.of(this.api);
    const api = JSON.stringify(stack.resolve(this.api.restApiId));
    for (const c of stack.node.findAll()) {
      if (c instanceof apigw.CfnGatewayResponse && JSON.stringify(stack.resolve(c.restApiId)) === api) this.deployment.node.addDependency(c);
    }
  }
}

/**
 * The API's deployment: its logical ID (hence a new deployment) changes exactly when something the
 * deployment holds changes, it waits for every resource, method and gateway response, the stage keeps
 * RestApi's own logical ID, and the digest is computed once per synthesis.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { ApiAuthorization, DatabaseTarget, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { DeployedConfigurationDigest } from '../../src/api/deployment';
import { ENV, postgresApi, postgresStack, READ_AND_WRITE } from '../helpers/stacks';
import { resourceEntriesOf, TemplateResource } from '../helpers/template';

type Build = (api: SecureDbApi) => void;

interface SynthesizedDeployment {
  readonly id: string;
  readonly resource: TemplateResource<unknown>;
  readonly template: Template;
}

function deployment(props: Partial<SecureDbApiProps> = {}, after: Build = () => {}): SynthesizedDeployment {
  const { stack, api } = postgresApi(props);
  after(api);
  const template = Template.fromStack(stack);
  const deployments = resourceEntriesOf<unknown>(template, 'AWS::ApiGateway::Deployment');
  expect(deployments).toHaveLength(1);
  const [[id, resource]] = deployments;
  return { id, resource, template };
}

const withStatusRequired = READ_AND_WRITE.map((q) => (q.route === 'GET /orders'
  ? { ...q, parameters: [QueryParameter.enumeration('status', ['open', 'paid'])] }
  : q));

describe('API deployment', () => {
  let base: ReturnType<typeof deployment>;
  beforeAll(() => {
    base = deployment();
  });

  test('the same API synthesized twice keeps the deployment\'s logical ID', () => {
    expect(deployment().id).toBe(base.id);
  });

  test.each<[string, Partial<SecureDbApiProps>, Build]>([
    ['a parameter becomes required', { queries: withStatusRequired }, () => {}],
    ['a route is added with addQuery', {}, (api) => api.addQuery('GET /customers', { sql: 'SELECT id FROM customers' })],
    ['a method is added outside the construct', {}, (api) => api.api.root.addResource('health').addMethod('GET', new apigw.MockIntegration())],
    ['a gateway response is added', {}, (api) => api.api.addGatewayResponse('Missing', { type: apigw.ResponseType.RESOURCE_NOT_FOUND, statusCode: '404' })],
    ['a route opens to unauthenticated callers', { queries: READ_AND_WRITE.map((q) => (q.route === 'GET /orders' ? { ...q, allowUnauthenticated: true } : q)) }, () => {}],
  ])('%s gives the deployment a new logical ID', (_what, props, after) => {
    const changed = deployment(props, after);
    expect(changed.id).not.toBe(base.id);
    expect(changed.id).toMatch(/^ApiRestApiDeployment[0-9A-F]{8}[0-9a-f]{32}$/);
  });

  test('a method changed through an escape hatch gives the deployment a new logical ID, but template metadata does not', () => {
    const addHealth = (api: SecureDbApi) => api.api.root.addResource('health').addMethod('GET', new apigw.MockIntegration());
    const plain = deployment({}, addHealth);
    const overridden = deployment({}, (api) => (addHealth(api).node.defaultChild as apigw.CfnMethod).addPropertyOverride('OperationName', 'renamed'));
    expect(overridden.id).not.toBe(plain.id);
    // Template metadata is not part of what API Gateway deploys.
    const annotated = deployment({}, (api) => (addHealth(api).node.defaultChild as apigw.CfnMethod).addMetadata('owner', 'platform-team'));
    expect(annotated.id).toBe(plain.id);
  });

  test('replacing the Cognito user pool by another gives the deployment a new logical ID', () => {
    const ids = ['PoolA', 'PoolB'].map((poolId) => {
      const t = postgresStack();
      const pool = new cognito.UserPool(t.stack, poolId);
      new SecureDbApi(t.stack, 'Api', {
        vpc: t.vpc,
        database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
        queries: READ_AND_WRITE,
        authorization: ApiAuthorization.cognito(pool),
      });
      return Object.keys(Template.fromStack(t.stack).findResources('AWS::ApiGateway::Deployment'));
    });
    expect(ids[0]).toHaveLength(1);
    expect(ids[0]).not.toEqual(ids[1]);
  });

  test('with a user pool in another stack the API synthesizes, and its deployment is the same on every synthesis', () => {
    const ids = [0, 1].map(() => {
      const t = postgresStack();
      const pools = new Stack(t.app, 'Pools', { env: ENV });
      const pool = new cognito.UserPool(pools, 'Pool');
      new SecureDbApi(t.stack, 'Api', {
        vpc: t.vpc,
        database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
        queries: READ_AND_WRITE,
        authorization: ApiAuthorization.cognito(pool),
      });
      const template = Template.fromStack(t.stack);
      // The authorizer names the pool through an import from the other stack.
      template.hasResourceProperties('AWS::ApiGateway::Authorizer', { ProviderARNs: [{ 'Fn::ImportValue': Match.stringLikeRegexp('Pools') }] });
      return Object.keys(template.findResources('AWS::ApiGateway::Deployment'));
    });
    expect(ids[0]).toHaveLength(1);
    expect(ids[1]).toEqual(ids[0]);
  });

  test.each<[string, Partial<SecureDbApiProps>]>([
    ['stage throttling', { throttling: { rateLimit: 7, burstLimit: 9 } }],
    ['an alarm threshold', { monitoring: { thresholds: { apiServerErrorRatePercent: { threshold: 9, period: Duration.minutes(10) } } } }],
  ])('changing only %s keeps the deployment\'s logical ID (the stage or alarms hold it)', (_what, props) => {
    expect(deployment(props).id).toBe(base.id);
  });

  test('the deployment waits for a gateway response added after the construct too', () => {
    const { resource, template } = deployment({}, (api) => api.api.addGatewayResponse('Missing', { type: apigw.ResponseType.RESOURCE_NOT_FOUND, statusCode: '404' }));
    const [missing] = Object.keys(template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: 'RESOURCE_NOT_FOUND' } }));
    expect(resource.DependsOn).toContain(missing);
  });

  test('the deployment waits for every resource, method and gateway response, and the stage uses it', () => {
    const dependsOn = base.resource.DependsOn;
    for (const type of ['AWS::ApiGateway::Resource', 'AWS::ApiGateway::Method', 'AWS::ApiGateway::GatewayResponse']) {
      const ids = Object.keys(base.template.findResources(type));
      expect(ids.length).toBeGreaterThan(0);
      expect(dependsOn).toEqual(expect.arrayContaining(ids));
    }
    base.template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v1', DeploymentId: { Ref: base.id } });
    // The stage and the endpoint output keep the logical IDs aws-cdk-lib's RestApi gave them before (measured on
    // the previous release): a stage replaced under the same name would fail to deploy.
    expect(Object.keys(base.template.findResources('AWS::ApiGateway::Stage'))).toEqual(['ApiRestApiDeploymentStagev10C42B161']);
    expect(Object.keys(base.template.findOutputs('*'))).toEqual(['ApiRestApiEndpoint45E9E182']);
    base.template.hasOutput('ApiRestApiEndpoint45E9E182', { Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: 'ApiRestApiDeploymentStagev10C42B161' }])] } });
  });

  test('aspects invoked the pre-2.172 way (aspectStabilization off) give the same deployment', () => {
    const { stack } = postgresApi({}, { context: { '@aws-cdk/core:aspectStabilization': false } });
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment'))).toEqual([base.id]);
  });

  test('the digest is computed once per synthesis, not at each resolution of the logical ID', () => {
    // compute is private: the spy reaches it through the prototype's shape.
    const compute = jest.spyOn(DeployedConfigurationDigest.prototype as unknown as { compute(): string }, 'compute');
    try {
      const { id } = deployment();
      expect(id).toBe(base.id);
      expect(compute).toHaveBeenCalledTimes(1);
    } finally {
      compute.mockRestore();
    }
  });
});


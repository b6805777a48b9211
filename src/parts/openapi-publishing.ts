import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { CfnOutput, Stack, Stage, Token } from 'aws-cdk-lib';
import { ApiEndpoint } from './api-endpoint';
import { ApiContext, apiError } from './context';
import { DEFAULTS } from './defaults';
import { QueryRegistry } from './query-registry';
import { asMappingTemplate, executeApiServer, openApiDocument, OpenApiServer } from '../api/openapi';
import { MethodAccess } from '../api/rest-api';
import { QueryConfig } from '../shared/config';

/** The OpenAPI documents written into each stage's cloud assembly, with the path of the API that wrote each. */
const OPENAPI_FILES = new WeakMap<Stage, Map<string, string>>();

/** Stands for the stage's URL in the served document until the URL (with tokens) replaces it. */
const SERVED_URL = 'urn:secure-db-api:stage-url';

/** The OpenAPI 3.1 document: built on demand, written into the cloud assembly and served when asked. */
export class OpenApiPublishing {
  constructor(private readonly ctx: ApiContext, private readonly endpoint: ApiEndpoint, private readonly queries: QueryRegistry) {}

  /** The document for `configs` (the checked queries, in the definitions' order). */
  public document(configs: QueryConfig[], servers: readonly OpenApiServer[] = [this.executeApiServer()]): Record<string, unknown> {
    const options = this.ctx.props.openApi ?? {};
    // The registry's check keeps the definitions' order.
    const descriptions = new Map<string, string>();
    this.queries.all.forEach((d, i) => {
      if (d.description && configs[i]) descriptions.set(configs[i].name, d.description);
    });
    return openApiDocument({
      title: options.title ?? `SecureDbApi ${this.ctx.scope.node.path}`,
      version: options.version ?? DEFAULTS.openApiVersion,
      queries: configs,
      unauthenticated: this.queries.unauthenticatedRoutes(),
      security: this.endpoint.authorization._openApi,
      tokens: this.endpoint.authorization.carriesClaims,
      apiKeyRequired: this.endpoint.usagePlan !== undefined,
      graphqlPath: this.queries.graphqlPath(),
      documentPath: options.serve ? DEFAULTS.openApiPath : undefined,
      servers,
      descriptions,
    });
  }

  /** The stage as a templated server: the RestApi's id is only known once it is deployed. */
  private executeApiServer(): OpenApiServer {
    const stack = Stack.of(this.ctx.scope);
    const output = this.endpoint.api.node.tryFindChild('Endpoint');
    const outputName = output instanceof CfnOutput ? stack.getLogicalId(output) : 'Endpoint';
    return executeApiServer(this.ctx.stageName, Token.isUnresolved(stack.region) ? undefined : stack.region, outputName);
  }

  /** Writes the document into the cloud assembly (and `outputFile`), and serves it when asked. */
  public publish(configs: QueryConfig[], access: MethodAccess): void {
    const { scope } = this.ctx;
    const options = this.ctx.props.openApi;
    if (!options) return;
    const document = this.document(configs);
    const text = JSON.stringify(document, undefined, 2);
    const stage = Stage.of(scope);
    if (stage) {
      // `<construct id>.openapi.json`, as documented: two APIs of one assembly must not overwrite each other's.
      const file = `${scope.node.id}.openapi.json`;
      const written = OPENAPI_FILES.get(stage) ?? new Map<string, string>();
      OPENAPI_FILES.set(stage, written);
      const other = written.get(file);
      if (other !== undefined && other !== scope.node.path) {
        throw apiError(scope, `the cloud assembly already holds ${file}, the OpenAPI document of SecureDbApi ${other}; give the two APIs different construct ids`);
      }
      written.set(file, scope.node.path);
      mkdirSync(stage.outdir, { recursive: true });
      writeFileSync(path.join(stage.outdir, file), text);
    }
    if (options.outputFile) {
      mkdirSync(path.dirname(path.resolve(options.outputFile)), { recursive: true });
      writeFileSync(options.outputFile, text);
    }
    if (options.serve) {
      // The served document names the deployed stage itself: its URL is resolved by CloudFormation.
      const stack = Stack.of(scope);
      const url = `https://${this.endpoint.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.ctx.stageName}`;
      const served = this.document(configs, [{ url: SERVED_URL, description: 'This API\'s stage' }]);
      const template = asMappingTemplate(served).replace(JSON.stringify(SERVED_URL), () => JSON.stringify(url));
      this.endpoint.restApi.addStaticDocument(DEFAULTS.openApiPath, template, access);
    }
  }
}

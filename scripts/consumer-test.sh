#!/usr/bin/env bash
# Consumer test: packs the library as npm would publish it, installs the tarball into a fresh CDK app in a
# temporary directory, and synthesizes it there. Fails if anything a consumer needs is missing from the
# package (compiled lib/, the runtime bundles in assets/) or the app does not synthesize.
# Run after `npx projen compile` (CI runs it after `npx projen build`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -f lib/index.js ] || { echo "lib/ is not built: run npx projen compile first" >&2; exit 1; }
[ -f assets/runtime/postgres.lambda/index.js ] || { echo "assets/ is not built: run npx projen bundle first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -1)
echo "packed $tarball"
listing=$(tar tzf "$work/$tarball")
if grep -q '^package/\(src\|test\)/\|\.map$\|^package/lib/runtime/engines/' <<<"$listing"; then echo "the package ships sources, tests, source maps or drivers" >&2; exit 1; fi
grep -q '^package/assets/runtime/postgres.lambda/index.js$' <<<"$listing" || { echo "the package lacks the PostgreSQL bundle" >&2; exit 1; }
grep -q '^package/container/Dockerfile$' <<<"$listing" || { echo "the package lacks the container Dockerfile" >&2; exit 1; }
for bundle in mysql.lambda sqlserver.lambda graphql-postgres.lambda graphql-mysql.lambda graphql-sqlserver.lambda authorizer.lambda bootstrap/bootstrap.lambda container/main; do
  grep -q "^package/assets/runtime/$bundle/index.js\$" <<<"$listing" || { echo "the package lacks the $bundle bundle" >&2; exit 1; }
done

cdk_version=$(node -p "require('$root/node_modules/aws-cdk-lib/package.json').version")
constructs_version=$(node -p "require('$root/node_modules/constructs/package.json').version")
mkdir -p "$work/app"
cd "$work/app"
cat > package.json <<JSON
{ "name": "consumer-app", "private": true, "version": "0.0.0" }
JSON
npm install --no-audit --no-fund --silent "aws-cdk-lib@$cdk_version" "constructs@$constructs_version" "$work/$tarball"

cat > app.js <<'JS'
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const rds = require('aws-cdk-lib/aws-rds');
const acm = require('aws-cdk-lib/aws-certificatemanager');
const s3 = require('aws-cdk-lib/aws-s3');
const { AccessLevel, ApiAuthorization, DatabaseTarget, QueryBackend, QueryParameter, SecureDbApi } = require('cdk-secure-db-api');

const app = new App({ outdir: 'cdk.out', context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new Stack(app, 'Consumer', { env: { account: '111111111111', region: 'eu-west-1' } });
const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
const instance = new rds.DatabaseInstance(stack, 'Db', {
  engine: rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_10_11 }),
  vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, iamAuthentication: true,
});
const api = new SecureDbApi(stack, 'Api', {
  vpc,
  database: DatabaseTarget.fromInstance(instance, { databaseName: 'app' }),
  queries: [{ route: 'GET /items/{sku}', sql: 'SELECT sku, name FROM items WHERE sku = :sku', parameters: [QueryParameter.string('sku', { maxLength: 32 })], single: true }],
});
api.addQuery('POST /items', { access: AccessLevel.WRITE, sql: 'INSERT INTO items (sku, name) VALUES (:sku, :name)', parameters: [QueryParameter.string('sku'), QueryParameter.string('name')] });

// A second API for OIDC tokens: its authorizer bundle must come from the package too.
const egress = new ec2.Vpc(stack, 'EgressVpc', { natGateways: 1, maxAzs: 2 });
const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
  engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
  vpc: egress, writer: rds.ClusterInstance.serverlessV2('writer'), iamAuthentication: true,
});
new SecureDbApi(stack, 'Tenants', {
  vpc: egress,
  database: DatabaseTarget.fromCluster(cluster, { databaseName: 'app' }),
  authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://app'] }),
  queries: [{ route: 'GET /mine', sql: 'SELECT id FROM notes WHERE tenant_id = :claims.tenant_id', requiredScopes: ['notes:read'] }],
});

// A third behind the private container backend: its image is staged from the package's Dockerfile.
new SecureDbApi(stack, 'Private', {
  vpc: egress,
  database: DatabaseTarget.fromCluster(cluster, { databaseName: 'app' }),
  databaseUsers: { reader: 'private_reader', writer: 'private_writer' },
  authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://app'] }),
  backend: QueryBackend.fargate({
    domainName: 'queries.internal.example.com',
    certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:111111111111:certificate/0b2f8f5e-1111-2222-3333-444455556666'),
    accessLogBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'log-archive'),
  }),
  queries: [{ route: 'GET /mine', sql: 'SELECT id FROM notes WHERE tenant_id = :claims.tenant_id' }],
});

const assembly = app.synth();
const template = assembly.getStackByName('Consumer').template;
const resources = Object.values(template.Resources);
const proxy = resources.find((r) => r.Type === 'AWS::RDS::DBProxy');
assert.strictEqual(proxy.Properties.RequireTLS, true);
assert.strictEqual(proxy.Properties.EngineFamily, 'MYSQL');
const fns = resources.filter((r) => r.Type === 'AWS::Lambda::Function' && !/rotation/i.test(r.Properties.Description ?? ''));
const byDescription = (re) => fns.filter((f) => re.test(f.Properties.Description ?? ''));
const assetOf = (fn) => path.join('cdk.out', fn.Metadata['aws:asset:path']);
const queryFns = byDescription(/^SecureDbApi (read|write) queries/);
assert.deepStrictEqual(queryFns.map((fn) => JSON.parse(fs.readFileSync(path.join(assetOf(fn), 'config.json'), 'utf8')).engine).sort(), ['mariadb', 'mariadb', 'postgres']);
const [authorizer] = byDescription(/JWT authorizer/);
assert.strictEqual(JSON.parse(fs.readFileSync(path.join(assetOf(authorizer), 'authorizer.json'), 'utf8')).routes[0].requiredScopes[0], 'notes:read');
assert.strictEqual(byDescription(/user bootstrap/).length, 3);
// The bootstraps answer CloudFormation through aws-cdk-lib's provider framework; every other function is a bundle of the package's.
const frameworks = byDescription(/resource provider framework/);
assert.ok(frameworks.length >= 1, 'the user bootstrap is answered by the provider framework');
for (const fn of fns.filter((f) => !frameworks.includes(f))) assert.ok(fs.statSync(path.join(assetOf(fn), 'index.js')).size > 10000, `bundle present for ${fn.Properties.Description}`);
assert.strictEqual(resources.filter((r) => r.Type === 'Custom::SecureDbApiDatabaseUsers').length, 3);
const assets = JSON.parse(fs.readFileSync(path.join('cdk.out', 'Consumer.assets.json'), 'utf8'));
const [image] = Object.values(assets.dockerImages);
const imageDir = path.join('cdk.out', image.source.directory);
for (const f of ['Dockerfile', 'entrypoint.sh', 'index.js', 'config.json']) assert.ok(fs.existsSync(path.join(imageDir, f)), `image context has ${f}`);
assert.strictEqual(JSON.parse(fs.readFileSync(path.join(imageDir, 'config.json'), 'utf8')).connection.user, 'private_reader');
console.log(`consumer app synthesized: ${resources.length} resources, ${fns.length} functions`);
JS
node app.js

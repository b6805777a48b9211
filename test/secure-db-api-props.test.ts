import { readFileSync } from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ts from 'typescript';
import { DatabaseTarget, ProxyAuthentication, SecureDbApi, SecureDbApiProps } from '../src';
import { existingProxy, postgresStack, READ_AND_WRITE } from './helpers/stacks';

/** Props that need constructs of the stack they are used in. */
type PropsIn = (stack: Stack, vpc: ec2.IVpc) => Partial<SecureDbApiProps>;

/** Every deprecated flat prop, a value other than its default, and the same value in its group. */
const ALIASES: ReadonlyArray<[string, string, PropsIn, PropsIn]> = [
  ['proxyAuthentication', 'proxy.authentication',
    () => ({ proxyAuthentication: ProxyAuthentication.END_TO_END_IAM }),
    () => ({ proxy: { authentication: ProxyAuthentication.END_TO_END_IAM } })],
  ['existingProxy', 'proxy.existing',
    (stack, vpc) => ({ existingProxy: existingProxy(stack, vpc) }),
    (stack, vpc) => ({ proxy: { existing: existingProxy(stack, vpc) } })],
  ['readerUser', 'databaseUsers.reader', () => ({ readerUser: 'shop_reader' }), () => ({ databaseUsers: { reader: 'shop_reader' } })],
  ['writerUser', 'databaseUsers.writer', () => ({ writerUser: 'shop_writer' }), () => ({ databaseUsers: { writer: 'shop_writer' } })],
  ['rotationSchedule', 'databaseUsers.rotationSchedule',
    () => ({ rotationSchedule: Duration.days(7) }),
    () => ({ databaseUsers: { rotationSchedule: Duration.days(7) } })],
  ['memorySize', 'functions.memorySize', () => ({ memorySize: 1024 }), () => ({ functions: { memorySize: 1024 } })],
  ['reservedConcurrency', 'functions.reservedConcurrency', () => ({ reservedConcurrency: 5 }), () => ({ functions: { reservedConcurrency: 5 } })],
];

function synth(props: PropsIn): Record<string, unknown> {
  const t = postgresStack();
  new SecureDbApi(t.stack, 'Api', {
    vpc: t.vpc,
    database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
    queries: READ_AND_WRITE,
    ...props(t.stack, t.vpc),
  });
  return Template.fromStack(t.stack).toJSON();
}

describe('deprecated flat props', () => {
  const defaults = synth(() => ({}));

  test.each(ALIASES)('%s synthesizes the same template as %s', (_flat, _grouped, flat, grouped) => {
    const fromFlat = synth(flat);
    expect(fromFlat).not.toEqual(defaults);
    expect(fromFlat).toEqual(synth(grouped));
  });

  test.each(ALIASES)('giving %s and %s both is refused, naming the construct path and the two props', (flatName, groupedName, flat, grouped) => {
    const both: PropsIn = (stack, vpc) => {
      const g = grouped(stack, vpc);
      const f = flat(stack, vpc);
      return { ...g, ...f };
    };
    const message = new RegExp(`^SecureDbApi Test/Api: ${flatName} and ${groupedName.replace('.', '\\.')} are the same setting: give only ${groupedName.replace('.', '\\.')}`);
    expect(() => synth(both)).toThrow(message);
  });

  test('flat props fill their group beside the group\'s other options', () => {
    const withFlat = synth(() => ({ readerUser: 'shop_reader', databaseUsers: { writer: 'shop_writer' }, memorySize: 1024, functions: { reservedConcurrency: 5 } }));
    const grouped = synth(() => ({ databaseUsers: { reader: 'shop_reader', writer: 'shop_writer' }, functions: { memorySize: 1024, reservedConcurrency: 5 } }));
    expect(withFlat).toEqual(grouped);
  });
});

describe('the grouped option structs', () => {
  /** The members of an exported interface in a source file, with whether each is deprecated. */
  function membersOf(file: string, name: string): Array<{ name: string; deprecated: boolean }> {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const found = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
    if (!found) throw new Error(`${name} is not declared in ${file}`);
    return found.members.map((m) => ({
      name: m.name && ts.isIdentifier(m.name) ? m.name.text : m.getText(),
      deprecated: ts.getJSDocTags(m).some((t) => t.tagName.text === 'deprecated'),
    }));
  }

  test.each([
    ['ProxyOptions', ['authentication', 'existing']],
    ['QueryFunctionOptions', ['memorySize', 'reservedConcurrency']],
    ['DatabaseUsersOptions', ['create', 'masterSecret', 'masterSecretEncryptionKey', 'schemas', 'reader', 'writer', 'rotationSchedule']],
  ])('%s holds its current settings only, none deprecated', (name, members) => {
    expect(membersOf(path.join(__dirname, '..', 'src', 'secure-db-api-props.ts'), name)).toEqual(members.map((m) => ({ name: m, deprecated: false })));
  });
});

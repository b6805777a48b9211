/**
 * The functions' environment credentials provider reads what `@aws-sdk/credential-provider-env`'s `fromEnv()`
 * reads, field by field, and fails where it fails.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { environmentCredentials } from '../../src/runtime/environment-credentials';

const VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_CREDENTIAL_SCOPE', 'AWS_ACCOUNT_ID'];

describe('environment credentials', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  /** Sets exactly `env` of the credential variables. */
  function withVariables(env: Record<string, string>): void {
    for (const name of VARIABLES) delete process.env[name];
    Object.assign(process.env, env);
  }

  /** What the SDK's provider answers, without the feature marks it adds for its user agent. */
  async function sdk(): Promise<Record<string, unknown>> {
    const { $source: _source, ...credentials } = (await fromEnv()()) as unknown as Record<string, unknown>;
    return credentials;
  }

  test.each([
    ['a role\'s temporary credentials, as Lambda sets them', { AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' }],
    ['long-term keys alone', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }],
    ['every optional variable', {
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_CREDENTIAL_EXPIRATION: '2026-12-02T12:00:00Z',
      AWS_CREDENTIAL_SCOPE: 'eu-west-1',
      AWS_ACCOUNT_ID: '123456789012',
    }],
    ['empty optional variables', { AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: '', AWS_CREDENTIAL_EXPIRATION: '' }],
  ])('%s: the same credentials as fromEnv()', async (_label, env) => {
    withVariables(env);
    const ours = await environmentCredentials()();
    expect(ours).toEqual(await sdk());
    expect(ours.accessKeyId).toBe(env.AWS_ACCESS_KEY_ID);
  });

  test.each([
    ['no variables', {}],
    ['a key without its secret', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }],
    ['a secret without its key', { AWS_SECRET_ACCESS_KEY: 'secret' }],
    ['empty values', { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }],
  ])('%s: refused, as fromEnv() refuses', async (_label, env) => {
    withVariables(env);
    await expect(fromEnv()()).rejects.toThrow(/Unable to find environment variable credentials/);
    await expect(environmentCredentials()()).rejects.toMatchObject({ name: 'CredentialsProviderError', message: 'Unable to find environment variable credentials.' });
  });

  test('the variables are read at each call, so credentials Lambda renews are picked up', async () => {
    withVariables({ AWS_ACCESS_KEY_ID: 'ASIAFIRST', AWS_SECRET_ACCESS_KEY: 'secret' });
    const provider = environmentCredentials();
    expect((await provider()).accessKeyId).toBe('ASIAFIRST');
    process.env.AWS_ACCESS_KEY_ID = 'ASIASECOND';
    expect((await provider()).accessKeyId).toBe('ASIASECOND');
  });
});

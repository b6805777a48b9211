/**
 * The AWS credentials Lambda gives a function in its environment (the execution role's), as
 * `@aws-sdk/credential-provider-env`'s `fromEnv()` reads them (test/runtime/environment-credentials.test.ts
 * compares the two). Written here because `fromEnv` imports two of the SDK's barrel modules whose other
 * parts (the shared INI file loader, the user agent) the bundles would carry and load at cold start (about
 * 17 KB minified, `node:fs/promises` and `node:os`) for nothing a function uses.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional variables beside them. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentialIdentityProvider {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw Object.assign(new Error('Unable to find environment variable credentials.'), { name: 'CredentialsProviderError', tryNextLink: true });
    }
    const credentials: { -readonly [K in keyof AwsCredentialIdentity]: AwsCredentialIdentity[K] } = { accessKeyId, secretAccessKey };
    if (env.AWS_SESSION_TOKEN) credentials.sessionToken = env.AWS_SESSION_TOKEN;
    if (env.AWS_CREDENTIAL_EXPIRATION) credentials.expiration = new Date(env.AWS_CREDENTIAL_EXPIRATION);
    if (env.AWS_CREDENTIAL_SCOPE) credentials.credentialScope = env.AWS_CREDENTIAL_SCOPE;
    if (env.AWS_ACCOUNT_ID) credentials.accountId = env.AWS_ACCOUNT_ID;
    return credentials;
  };
}

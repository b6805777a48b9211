/**
 * The cursor signing key of paged queries, from the Secrets Manager secret the construct creates when some
 * query pages: read on first use, kept for the life of the process (one read per cold start), read again
 * after a failed read. The query functions load the SDK client only when their configuration has a
 * `cursorKey` section (src/runtime/lambda.ts), and the command on the first read.
 */
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import { cachedKey, CursorKeySource, keyOf } from './pagination';

/** The key in the secret's string value (the generated text). */
export function secretCursorKey(secretId: string, client: SecretsManager.SecretsManagerClient): CursorKeySource {
  return cachedKey(async () => {
    // Required here, not imported: the query functions' bundles leave the SDK to the runtime and load it only
    // for a paged query's first cursor (src/runtime/lambda.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager') as typeof SecretsManager;
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (typeof out.SecretString !== 'string') throw new Error('the cursor key secret has no string value');
    return keyOf(out.SecretString);
  });
}

/**
 * The cursor signing key of paged queries, from the Secrets Manager secret the construct creates when some
 * query pages: read on first use, kept for the life of the process (one read per cold start), read again
 * after a failed read. The query functions load this module, and the SDK client, only when their
 * configuration has a `cursorKey` section.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedKey, CursorKeySource, keyOf } from './pagination';

/** The key in the secret's string value (the generated text). */
export function secretCursorKey(secretId: string, client: SecretsManagerClient): CursorKeySource {
  return cachedKey(async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (typeof out.SecretString !== 'string') throw new Error('the cursor key secret has no string value');
    return keyOf(out.SecretString);
  });
}

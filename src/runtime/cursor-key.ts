/**
 * The cursor signing key of paged queries, from the Secrets Manager secret the construct creates when some
 * query pages: read on first use, kept for the life of the process (one read per cold start), read again
 * after a failed read. The query functions load the SDK client only when their configuration has a
 * `cursorKey` section (src/runtime/lambda.ts), and the command on the first read. Without that section, the
 * process's own key (the development server's). Apart from src/runtime/pagination.ts, which the query
 * functions load only for a paged query's first call.
 */
import { randomBytes } from 'crypto';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';

/** Shortest accepted signing key, in bytes. */
export const MIN_CURSOR_KEY_BYTES = 32;
/** The development server's signing key, when it should survive restarts (any text of at least 32 bytes). */
export const CURSOR_KEY_ENV = 'SECURE_DB_API_CURSOR_KEY';

/** The cursor signing key, read once and kept. */
export type CursorKeySource = () => Promise<Uint8Array>;

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

/** A key read from an environment variable (at least 32 bytes), or random bytes for this process. */
let processKey: Uint8Array | undefined;

/**
 * The development server's key: `SECURE_DB_API_CURSOR_KEY` when set (so cursors survive restarts), else 32
 * random bytes made once per process (cursors then last as long as the process).
 */
export function processCursorKey(env: NodeJS.ProcessEnv = process.env): CursorKeySource {
  return async () => {
    const given = env[CURSOR_KEY_ENV];
    if (given !== undefined && given !== '') return keyOf(given);
    processKey ??= randomBytes(32);
    return processKey;
  };
}

/** The bytes of a key given as text; throws when it is too short to sign with. */
export function keyOf(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < MIN_CURSOR_KEY_BYTES) throw new Error(`the cursor signing key must be at least ${MIN_CURSOR_KEY_BYTES} bytes`);
  return bytes;
}

/** Reads a key once and keeps it; a failed read is tried again on the next call. */
export function cachedKey(read: () => Promise<Uint8Array>): CursorKeySource {
  let pending: Promise<Uint8Array> | undefined;
  return () => {
    pending ??= read().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}

/**
 * RDS IAM authentication tokens: a SigV4-presigned `connect` request for one database user, valid for
 * 15 minutes. The same steps as `@aws-sdk/rds-signer`'s `Signer.getAuthToken()` (a test compares the two
 * byte for byte), written against the SDK's own ES modules so the bundle keeps only the signer: the
 * package's CommonJS build pulls in the whole `@smithy/core` and the default credential chain (SSO, INI
 * files, STS, IMDS), about 400 KB of every function's bundle. The caller says where AWS credentials come
 * from: in Lambda, the execution role's credentials in the environment (`environmentCredentials`).
 */
import { createHash, createHmac } from 'crypto';
import { formatUrl } from '@aws-sdk/core/util';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Hash, SourceData } from '@smithy/types';

export interface RdsAuthTokenSignerOptions {
  /** The endpoint the client connects to (the proxy's), as the token names it. */
  readonly hostname: string;
  readonly port: number;
  /** The database user the token logs in as. */
  readonly username: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** Token lifetime RDS accepts at most, in seconds. */
const EXPIRES_IN_SECONDS = 900;

/**
 * Like the SDK signer: credentials that expire within the token's lifetime are refreshed first, so a
 * token never outlives the credentials that signed it (temporary credentials of a task role).
 */
function refreshingNearExpiry(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  const soon = (c: AwsCredentialIdentity) => c.expiration !== undefined && c.expiration.getTime() - Date.now() < EXPIRES_IN_SECONDS * 1000;
  return async (properties) => {
    const credentials = await provider(properties);
    if (!soon(credentials)) return credentials;
    try {
      const refreshed = await provider({ ...properties, forceRefresh: true });
      if (!soon(refreshed)) return refreshed;
    } catch {
      // keep the credentials that still work; the next token tries again
    }
    return credentials;
  };
}

/**
 * SHA-256, or HMAC-SHA-256 with a secret, on node:crypto: what the SDK's `Sha256` from `@smithy/core/checksum`
 * does in Node, without that module's work at load time (it hashes once to probe for node:crypto) or its
 * JavaScript fallback, which Node never needs: a function that signs no token never touches the hash.
 */
class NodeSha256 implements Hash {
  private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }

  update(data: SourceData, encoding?: 'utf8' | 'ascii' | 'latin1'): void {
    if (typeof data === 'string') this.hash.update(data, encoding ?? 'utf8');
    else this.hash.update(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    const b = this.hash.digest();
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
}

function bytesOf(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export class RdsAuthTokenSigner {
  private readonly signer: SignatureV4;

  constructor(private readonly options: RdsAuthTokenSignerOptions) {
    for (const key of ['hostname', 'username', 'region'] as const) {
      if (!options[key]) throw new Error(`RDS auth token signer needs a ${key}`);
    }
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new Error(`RDS auth token signer needs a port, got ${options.port}`);
    this.signer = new SignatureV4({ service: 'rds-db', region: options.region, credentials: typeof options.credentials === 'function' ? refreshingNearExpiry(options.credentials) : options.credentials, sha256: NodeSha256 });
  }

  async getAuthToken(): Promise<string> {
    const { hostname, port, username } = this.options;
    const request = new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname,
      port,
      query: { Action: 'connect', DBUser: username },
      headers: { host: `${hostname}:${port}` },
    });
    const presigned = await this.signer.presign(request, { expiresIn: EXPIRES_IN_SECONDS });
    return formatUrl(presigned).replace('https://', '');
  }
}

/**
 * Where the database password comes from: a short-lived IAM authentication token signed with the
 * function's (or task's) role. The passwords the proxy itself uses stay in Secrets Manager, which the
 * query code never reads. Static credentials are for local development and tests.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { RdsAuthTokenSigner } from './rds-token';

export interface DbCredentials {
  readonly user: string;
  readonly password: string;
}

export interface CredentialsProvider {
  /** `iam` tokens need the cleartext plugin on MySQL and always TLS. */
  readonly kind: 'iam' | 'static';
  get(): Promise<DbCredentials>;
  /** Forget what is cached; called once after the database refused the credentials. */
  invalidate(): void;
}

/** IAM authentication tokens are valid for 15 minutes. */
export const IAM_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

const missingAwsCredentials: AwsCredentialIdentityProvider = async () => {
  throw new Error('IAM database authentication needs AWS credentials, and none were given');
};

/** The part of the token signer the provider uses, so tests can count signatures. */
export interface TokenSigner {
  getAuthToken(): Promise<string>;
}

export interface IamTokenCredentialsOptions {
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  readonly region: string;
  /** The AWS credentials that sign the token (in Lambda: `environmentCredentials()`). Needed unless `signer` is given. */
  readonly awsCredentials?: AwsCredentialIdentityProvider;
  /** Renew this long before the token expires. Default 5 minutes. */
  readonly renewBeforeExpiryMs?: number;
  /** For tests. */
  readonly signer?: TokenSigner;
  readonly now?: () => number;
}

export class IamTokenCredentials implements CredentialsProvider {
  readonly kind = 'iam' as const;
  private readonly signer: TokenSigner;
  private readonly now: () => number;
  private readonly renewBeforeExpiryMs: number;
  private cached?: { token: string; expiresAt: number };
  private pending?: Promise<string>;
  /** How many tokens were signed: the benchmarks count these. */
  signed = 0;

  constructor(private readonly options: IamTokenCredentialsOptions) {
    this.signer = options.signer ?? new RdsAuthTokenSigner({
      hostname: options.hostname,
      port: options.port,
      username: options.user,
      region: options.region,
      credentials: options.awsCredentials ?? missingAwsCredentials,
    });
    this.now = options.now ?? Date.now;
    this.renewBeforeExpiryMs = options.renewBeforeExpiryMs ?? 5 * 60 * 1000;
  }

  async get(): Promise<DbCredentials> {
    const c = this.cached;
    if (c && this.now() < c.expiresAt - this.renewBeforeExpiryMs) return { user: this.options.user, password: c.token };
    this.pending ??= this.sign().finally(() => (this.pending = undefined));
    return { user: this.options.user, password: await this.pending };
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async sign(): Promise<string> {
    const issuedAt = this.now();
    const token = await this.signer.getAuthToken();
    this.signed++;
    this.cached = { token, expiresAt: issuedAt + IAM_TOKEN_LIFETIME_MS };
    return token;
  }
}

/** Local development and tests only. */
export class StaticCredentials implements CredentialsProvider {
  readonly kind = 'static' as const;
  constructor(private readonly value: DbCredentials) {}
  async get(): Promise<DbCredentials> {
    return this.value;
  }
  invalidate(): void {}
}

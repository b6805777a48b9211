/**
 * Where the database password comes from: a short-lived IAM authentication token signed with the
 * function's role (the default), or a Secrets Manager secret kept current by rotation.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Signer } from '@aws-sdk/rds-signer';

export interface DbCredentials {
  readonly user: string;
  readonly password: string;
}

export interface CredentialsProvider {
  /** `iam` tokens need the cleartext plugin on MySQL and always TLS. */
  readonly kind: 'iam' | 'secret' | 'static';
  get(): Promise<DbCredentials>;
  /** Forget what is cached; called once after the database refused the credentials. */
  invalidate(): void;
}

/** IAM authentication tokens are valid for 15 minutes. */
export const IAM_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/** The part of `@aws-sdk/rds-signer` the provider uses, so tests can count signatures. */
export interface TokenSigner {
  getAuthToken(): Promise<string>;
}

export interface IamTokenCredentialsOptions {
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  readonly region: string;
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
    this.signer = options.signer ?? new Signer({ hostname: options.hostname, port: options.port, username: options.user, region: options.region });
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

/** The shape RDS and the hosted rotation functions write into a database secret. */
interface SecretJson {
  readonly username?: unknown;
  readonly password?: unknown;
}

export interface SecretCredentialsOptions {
  readonly secretArn: string;
  /** Re-read the secret after this long even without a failure. Default 15 minutes. */
  readonly maxAgeMs?: number;
  readonly client?: SecretsManagerClient;
  readonly now?: () => number;
}

export class SecretCredentials implements CredentialsProvider {
  readonly kind = 'secret' as const;
  private readonly client: SecretsManagerClient;
  private readonly now: () => number;
  private cached?: { value: DbCredentials; readAt: number };

  constructor(private readonly options: SecretCredentialsOptions) {
    this.client = options.client ?? new SecretsManagerClient({});
    this.now = options.now ?? Date.now;
  }

  async get(): Promise<DbCredentials> {
    const maxAge = this.options.maxAgeMs ?? 15 * 60 * 1000;
    if (this.cached && this.now() - this.cached.readAt < maxAge) return this.cached.value;
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.options.secretArn }));
    let parsed: SecretJson;
    try {
      parsed = JSON.parse(out.SecretString ?? '') as SecretJson;
    } catch {
      throw new Error('database secret is not a JSON object');
    }
    if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
      throw new Error('database secret has no string "username" and "password"');
    }
    const value = { user: parsed.username, password: parsed.password };
    this.cached = { value, readAt: this.now() };
    return value;
  }

  invalidate(): void {
    this.cached = undefined;
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

import { Duration } from 'aws-cdk-lib';

/**
 * Options of `SecureDbApiProps.idempotency`: writes sent with an `Idempotency-Key` header run at most once
 * per caller and key (the construct creates the store: a DynamoDB table encrypted with the API's key).
 */
export interface IdempotencyOptions {
  /**
   * How long a key's outcome is kept: within this time a retry with the same key answers the first outcome
   * and never writes again; after it, the key is free and a request with it runs. Whole seconds, at least
   * one minute. (DynamoDB's TTL deletes expired records within a few days; the runtime ignores them from the
   * moment they expire.)
   * @default Duration.hours(1)
   */
  readonly expiresAfter?: Duration;
}

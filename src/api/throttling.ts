/** Stage throttling. */
export interface ThrottlingOptions {
  /**
   * Steady-state requests per second for the whole stage: a finite number, at least 0.
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Burst capacity for the whole stage: a whole number of requests, at least 0.
   * @default 200
   */
  readonly burstLimit?: number;
}


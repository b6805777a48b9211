/** Stage throttling. */
export interface ThrottlingOptions {
  /**
   * Steady-state requests per second for the whole stage.
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Burst capacity for the whole stage.
   * @default 200
   */
  readonly burstLimit?: number;
}


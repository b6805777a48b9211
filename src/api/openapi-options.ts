/** The OpenAPI 3.1 document, for `SecureDbApiProps.openApi`. */
export interface OpenApiOptions {
  /**
   * The document's title.
   * @default - the construct's path
   */
  readonly title?: string;
  /**
   * The API's version in the document.
   * @default '1.0.0'
   */
  readonly version?: string;
  /**
   * Also write the document to this file at synthesis (it is always written into the cloud assembly as
   * `<construct id>.openapi.json`).
   * @default - the cloud assembly only
   */
  readonly outputFile?: string;
  /**
   * Serve the document at `GET /openapi.json`, authorized like every route.
   * @default false
   */
  readonly serve?: boolean;
}

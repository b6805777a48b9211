/**
 * Stands in for `@aws-lambda-powertools/jmespath` in the query functions' bundles (see
 * scripts/bundle-runtime.js). Powertools' idempotency utility selects the key and the validated payload
 * with JMESPath; src/runtime/idempotency.ts only ever asks for a list of top-level fields (`[principal, key]`,
 * `[route, body, query]`), so the full interpreter (24 KB) is left out. Any other expression fails loudly.
 */

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

function field(data: unknown, name: string): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  return Object.prototype.hasOwnProperty.call(data, name) ? (data as Record<string, unknown>)[name] ?? null : null;
}

/** JMESPath `search` for an identifier or a multi-select list of identifiers, as the JMESPath specification defines them. */
export function search(expression: string, data: unknown): unknown {
  const text = expression.trim();
  if (FIELD.test(text)) return field(data, text);
  const list = /^\[(.*)\]$/.exec(text);
  const names = list?.[1].split(',').map((n) => n.trim());
  if (!names || !names.every((n) => FIELD.test(n))) {
    throw new Error(`JMESPath expression "${expression}" is not bundled (only fields and lists of fields): see scripts/bundle-runtime.js`);
  }
  // A multi-select list of a null value is null.
  return data === null || data === undefined ? null : names.map((n) => field(data, n));
}

/** Powertools' custom functions (`powertools_json`, …): none are used, so none are bundled. */
export class PowertoolsFunctions {}

/**
 * What the query handler uses of keyset pagination: the page a call asks for, the keyset statement, and the
 * cursors. In the REST query functions' bundles a file of its own beside index.js (scripts/bundle-runtime.js),
 * which src/runtime/handler.ts requires at a paged query's first call, so a function without paged queries never
 * parses it. Its errors are Problems of its own copy of src/runtime/problem.ts, which `instanceof Problem` tells
 * as Problems all the same.
 */
export { graphqlPageRequest, nextLink, restPageRequest, withPageErrors } from './page-request';
export { issueCursor, orderingValues, pageStatement, readCursor, withoutHidden } from './pagination';

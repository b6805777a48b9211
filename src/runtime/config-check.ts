/**
 * The full check of a configuration (prepareConfig), for a file the construct did not seal or that changed
 * since (src/shared/sealed-config.ts). In the REST query functions' bundles it is a file of its own beside
 * index.js (scripts/bundle-runtime.js), which src/runtime/handler.ts requires only then: a sealed file's cold
 * start never parses the checks, the SQL lexer or their messages.
 */
export { prepareConfig } from '../shared/config';

/**
 * Jest setup (package.json `jest.setupFiles`): the runtime's Powertools Logger and Metrics write JSON lines
 * straight to stdout, which made every test run print audit records and EMF metrics between the results.
 * Tests that check those lines turn them back on (`test/runtime/audit.db.test.ts`); processes a test starts
 * get the environment the test gives them.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// On Node 20 the AWS SDK warns, once per test file, that releases after January 2027 need Node 22: the
// README's "Node.js versions" section says so once, for the whole project.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Powertools' idempotency utility warns on every write outside Lambda that it cannot tell the remaining time
// (the container backend has no Lambda context): the container's idempotency tests printed 200+ such
// warnings, each with a code frame. Only that message is dropped; every other warning still shows.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('Could not determine remaining time left')) return;
  warn(...args);
};

/** Log levels in the order of the Powertools Logger's; SILENT writes nothing. */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

/**
 * Whether a line of `level` is written: the runtime's own operational lines follow POWERTOOLS_LOG_LEVEL
 * (default INFO), the setting the Powertools Logger of the audit records reads, so one variable governs
 * every line a function or container writes. An unknown level is written.
 */
export function logLevelAllows(level: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const threshold = LEVELS.indexOf((env.POWERTOOLS_LOG_LEVEL ?? 'INFO').toUpperCase());
  const at = LEVELS.indexOf(level.toUpperCase());
  return threshold < 0 || at < 0 || at >= threshold;
}

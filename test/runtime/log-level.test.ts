import { logLevelAllows } from '../../src/runtime/log-level';

describe('the runtime\'s own log lines follow POWERTOOLS_LOG_LEVEL', () => {
  test('by default (INFO) errors and information are written, debug lines are not', () => {
    expect([logLevelAllows('ERROR', {}), logLevelAllows('INFO', {}), logLevelAllows('DEBUG', {})]).toEqual([true, true, false]);
  });

  test('SILENT writes nothing, ERROR only errors and worse', () => {
    expect(['CRITICAL', 'ERROR', 'WARN'].map((l) => logLevelAllows(l, { POWERTOOLS_LOG_LEVEL: 'SILENT' }))).toEqual([false, false, false]);
    expect(['CRITICAL', 'ERROR', 'WARN'].map((l) => logLevelAllows(l, { POWERTOOLS_LOG_LEVEL: 'error' }))).toEqual([true, true, false]);
  });

  test('an unknown setting or level writes the line rather than losing it', () => {
    expect([logLevelAllows('ERROR', { POWERTOOLS_LOG_LEVEL: 'LOUD' }), logLevelAllows('NOTICE', { POWERTOOLS_LOG_LEVEL: 'ERROR' })]).toEqual([true, true]);
  });
});

/**
 * The REST query function's entry point with an in-memory engine instead of a driver: built with the
 * shipped bundles' esbuild options, it runs everything the shipped function runs per call (routing,
 * validation, audit record, EMF metrics, X-Ray subsegment, response) except the database's answer.
 */
import type { DatabaseEngine, Statement, StatementResult } from '../src/runtime/engines/engine';
import { lambdaHandler } from '../src/runtime/lambda';

export const MEMORY_ROW = { id: 1, label: 'row 1', amount: 1 };

const memoryEngine: DatabaseEngine = {
  name: 'memory',
  connect: async () => ({
    broken: false,
    run: async (st: Statement): Promise<StatementResult> => (st.access === 'write'
      ? { rows: [], truncated: false, affectedRows: 1 }
      : { rows: [{ ...MEMORY_ROW }], truncated: false }),
    close: async () => undefined,
  }),
  classify: () => 'internal',
};

export const handler = lambdaHandler(() => memoryEngine);

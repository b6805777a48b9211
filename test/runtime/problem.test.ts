/**
 * A Problem is a Problem whichever copy of src/runtime/problem.ts made it: the REST query functions' paging
 * chunk carries its own copy (scripts/bundle-runtime.js), and the handler answers its Problems as problems.
 */
import * as path from 'path';
import { Problem } from '../../src/runtime/problem';

/** The class of a second copy of the module, as a chunk bundled apart has it. */
function otherCopy(): typeof Problem {
  let other: typeof Problem | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    other = (require(path.join(__dirname, '..', '..', 'src', 'runtime', 'problem')) as { Problem: typeof Problem }).Problem;
  });
  return other as typeof Problem;
}

describe('Problem', () => {
  const Other = otherCopy();

  test('the second copy is a class of its own', () => {
    expect(Other).not.toBe(Problem);
  });

  test('a Problem of either copy is a Problem to both', () => {
    expect(new Other('invalid-cursor', 'The cursor has expired')).toBeInstanceOf(Problem);
    expect(new Problem('validation', 'no')).toBeInstanceOf(Other);
    expect(new Problem('validation', 'no')).toBeInstanceOf(Error);
  });

  test('nothing else is: errors, look-alikes, primitives', () => {
    for (const value of [new Error('x'), { kind: 'validation', status: 400, detail: 'x' }, Object.create(null), null, undefined, 'Problem', 400]) {
      expect(value instanceof Problem).toBe(false);
    }
  });
});

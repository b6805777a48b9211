import { CLIENT_TIMEOUT_GRACE_MS, ClientTimeoutError } from './engine';

/**
 * Arms the client-side deadline of a statement that has been written: `expire` runs a little after the
 * server-side statement timeout unless the caller clears the timer when the statement settles. `expire`
 * answers with the {@link ClientTimeoutError} and discards the connection; the statement's late outcome is
 * then ignored.
 */
export function armDeadline(timeoutMs: number, expire: (error: ClientTimeoutError) => void): NodeJS.Timeout {
  return setTimeout(() => expire(new ClientTimeoutError()), timeoutMs + CLIENT_TIMEOUT_GRACE_MS);
}

/**
 * Runs `work` with a client-side deadline a little after the server-side statement timeout. The server
 * normally cancels first; if it does not answer in time, `abandon` discards the connection. One promise
 * and one timer per call: the work's late outcome, after the deadline answered, is ignored.
 */
export function withDeadline<T>(timeoutMs: number, abandon: () => void, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = armDeadline(timeoutMs, (error) => {
      abandon();
      reject(error);
    });
    let running: Promise<T>;
    try {
      running = work();
    } catch (e) {
      clearTimeout(timer);
      reject(e);
      return;
    }
    running.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

import { CLIENT_TIMEOUT_GRACE_MS, ClientTimeoutError } from './engine';

/**
 * Runs `work` with a client-side deadline a little after the server-side statement timeout. The server
 * normally cancels first; if it does not answer in time, `abandon` discards the connection.
 */
export async function withDeadline<T>(timeoutMs: number, abandon: () => void, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon();
      reject(new ClientTimeoutError());
    }, timeoutMs + CLIENT_TIMEOUT_GRACE_MS);
  });
  const running = work();
  running.catch(() => undefined); // settled after the deadline: already answered
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

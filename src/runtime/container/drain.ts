/**
 * Graceful shutdown of a query server (the container backend, the development server): stop accepting
 * connections, close idle keep-alive connections, answer every request already accepted with
 * `Connection: close` (so no client sends another request on a connection about to close, which would be
 * reset), then close the database connections.
 */
import type * as http from 'http';
import type { Dispatch } from '../http-server';

export class Drain {
  private draining = false;
  private stopping?: Promise<void>;

  /** @param drainMs longest wait for accepted requests before the remaining connections are closed */
  constructor(private readonly drainMs: number) {}

  /** `dispatch` whose responses say Connection: close once the drain has begun. */
  wrap(dispatch: Dispatch): Dispatch {
    return async (event, requestId) => {
      const out = await dispatch(event, requestId);
      return this.draining ? { ...out, headers: { ...out.headers, connection: 'close' } } : out;
    };
  }

  /** Marks responses of requests that arrive while draining (health checks, refused bodies) too. */
  attach(server: http.Server): void {
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      if (this.draining) res.setHeader('connection', 'close');
    });
  }

  /** Drains `server`, then runs `closeBackend` (which lets lent connections finish). Idempotent. */
  shutdown(server: http.Server, closeBackend: () => Promise<void>): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      // No new connections; idle keep-alive connections close now, busy ones after their response.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.drainMs)));
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
      // Past the deadline only: whatever is still open goes before a SIGKILL would take it.
      server.closeAllConnections();
      await closeBackend();
      await closed;
    })();
    return this.stopping;
  }
}

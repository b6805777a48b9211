/**
 * A TCP proxy on loopback that adds latency: every chunk, in both directions, is forwarded half the
 * round-trip time after it arrived (in arrival order), so each request/response exchange costs about
 * `rttMs` more, as a database in another availability zone would. 0 forwards at once.
 *
 * It runs in a process of its own (`startLatencyProxy` forks this file), so its timers never share the
 * event loop of the code being measured. Node's timers have millisecond granularity: a delay is waited
 * with a timer to within a millisecond, then with setImmediate turns to the microsecond.
 */
import { fork } from 'child_process';
import * as net from 'net';

export interface LatencyProxy {
  readonly port: number;
  readonly rttMs: number;
  close(): Promise<void>;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Forwards `from` to `to`, each chunk `delayMs` after it arrived, keeping their order. */
function delayed(from: net.Socket, to: net.Socket, delayMs: number): void {
  if (delayMs <= 0) {
    from.pipe(to);
    return;
  }
  const queue: Array<{ due: number; chunk: Buffer | null }> = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const t = nowMs();
    while (queue.length > 0 && queue[0].due <= t) {
      const { chunk } = queue.shift()!;
      if (to.destroyed) continue;
      if (chunk) to.write(chunk);
      else to.end();
    }
    if (queue.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    const wait = queue[0].due - nowMs();
    if (wait > 1.5) setTimeout(() => { scheduled = false; schedule(); }, Math.floor(wait - 1));
    else setImmediate(flush);
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ due: nowMs() + delayMs, chunk });
    schedule();
  });
  from.on('end', () => {
    queue.push({ due: nowMs() + delayMs, chunk: null });
    schedule();
  });
}

function serve(targetPort: number, rttMs: number, targetHost: string): Promise<number> {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: targetPort });
    upstream.setNoDelay(true);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    delayed(client, upstream, rttMs / 2);
    delayed(upstream, client, rttMs / 2);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Starts the proxy in a child process; resolves with its port. */
export function startLatencyProxy(targetPort: number, rttMs: number, targetHost = '127.0.0.1'): Promise<LatencyProxy> {
  const child = fork(__filename, ['--serve', String(targetPort), String(rttMs), targetHost], {
    execArgv: __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`latency proxy exited with ${code}`)));
    child.once('message', (m: { port: number }) => resolve({
      port: m.port,
      rttMs,
      close: () => new Promise<void>((done) => {
        child.removeAllListeners('exit');
        child.once('exit', () => done());
        child.kill();
      }),
    }));
  });
}

if (require.main === module && process.argv[2] === '--serve') {
  void serve(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]).then((port) => process.send?.({ port }));
}

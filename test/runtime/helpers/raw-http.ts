/** A raw HTTP/1.1 client: sends request bytes exactly as given (targets Node's own client would refuse). */
import * as net from 'net';

export interface RawReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** A socket error seen before the answer was complete (ECONNRESET, EPIPE), if any. */
  readonly error?: string;
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol === -1 ? 0 : parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Sends one request on a new connection (`Connection: close`) and reads the answer to the end. */
export function rawRequest(port: number, head: string, body: Buffer | string = ''): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const lines = (split === -1 ? all : all.subarray(0, split)).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const raw = split === -1 ? Buffer.alloc(0) : all.subarray(split + 4);
      const text = (headers['transfer-encoding'] === 'chunked' ? dechunk(raw) : raw).toString('utf8');
      resolve({ status, headers, body: text, ...(error ? { error } : {}) });
    });
    socket.write(`${head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    // Not ended: a server may drop a request whose client half-closed before the answer (Node's does).
    socket.write(body);
  });
}

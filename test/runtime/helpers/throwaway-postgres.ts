/**
 * A throwaway PostgreSQL server for tests that need what the shared one does not have: password
 * (SCRAM) authentication and TLS with a certificate from a test CA. Started with initdb + pg_ctl on a
 * free port, removed afterwards.
 */
import { execFile, execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface TestCa {
  readonly caPem: string;
  readonly dir: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string) {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it, plus an unrelated CA. */
export function makeCertificates(dir: string): { ca: string; otherCa: string; cert: string; key: string } {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=cdk-secure-db-api test CA'], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=unrelated CA'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext'], dir);
  return { ca: path.join(dir, 'ca.pem'), otherCa: path.join(dir, 'other.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

function pgBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  throw new Error('PostgreSQL server binaries not found (set PG_BINDIR)');
}

const isRoot = process.getuid?.() === 0;

/** initdb refuses to run as root: run the server tools as the postgres OS user then. */
function postgresCommand(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function asPostgres(cmd: string, args: string[]) {
  const [file, argv] = postgresCommand(cmd, args);
  execFileSync(file, argv, { stdio: 'pipe' });
}

function asPostgresAsync(cmd: string, args: string[]): Promise<void> {
  const [file, argv] = postgresCommand(cmd, args);
  return new Promise((resolve, reject) => execFile(file, argv, (err) => (err ? reject(err) : resolve())));
}

export interface ThrowawayPostgres {
  readonly port: number;
  readonly certs: ReturnType<typeof makeCertificates>;
  /** pg_ctl restart -m fast: open sessions are terminated, running transactions rolled back. */
  restart(): Promise<void>;
  /** Stops the server (fast) and keeps its data. */
  halt(): Promise<void>;
  /** Starts it again after halt(). */
  resume(): Promise<void>;
  /** Stops the server and deletes everything. */
  stop(): void;
}

export interface ThrowawayOptions {
  /**
   * true: TLS only, SCRAM passwords (`postgres` has `superPassword`).
   * false: plain connections with trust authentication, for fault tests.
   */
  readonly secure: boolean;
  /** Extra postgresql.conf settings. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** Starts a throwaway server on a free port; see ThrowawayOptions for what it accepts. */
export async function startThrowawayPostgres(superPassword: string, options: ThrowawayOptions = { secure: true }): Promise<ThrowawayPostgres> {
  const bin = pgBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-pg-'));
  chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const certs = makeCertificates(dir);
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${superPassword}\n`);
  if (isRoot) execFileSync('chown', ['-R', 'postgres', dir]);
  chmodSync(certs.key, 0o600);
  asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--auth=${options.secure ? 'scram-sha-256' : 'trust'}`, `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  appendFileSync(path.join(data, 'postgresql.conf'), [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'ssl = on',
    `ssl_cert_file = '${certs.cert}'`,
    `ssl_key_file = '${certs.key}'`,
    'fsync = off',
    ...Object.entries(options.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n'));
  // Secure: TLS only, a plain connection has no matching pg_hba line.
  writeFileSync(path.join(data, 'pg_hba.conf'), options.secure ? 'hostssl all all 127.0.0.1/32 scram-sha-256\n' : 'host all all 127.0.0.1/32 trust\n');
  const ctl = (...args: string[]) => asPostgresAsync(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', ...args]);
  asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  return {
    port,
    certs,
    restart: () => ctl('-m', 'fast', 'restart'),
    halt: () => ctl('-m', 'fast', 'stop'),
    resume: () => ctl('start'),
    stop() {
      try {
        asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

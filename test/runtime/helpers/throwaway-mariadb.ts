/**
 * A throwaway MariaDB server for tests that need server settings the shared one does not have (an
 * `sql_mode`, a character set). Started with mariadb-install-db + mariadbd on a free port, with
 * `--no-defaults` so the machine's configuration files do not apply, and removed afterwards.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { freePort } from './throwaway-postgres';

export interface ThrowawayMariadb {
  readonly port: number;
  /** Stops the server and deletes everything. */
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

/** Starts a server with `root` (no password) and database `test`; `options` are extra mariadbd options. */
export async function startThrowawayMariadb(options: readonly string[]): Promise<ThrowawayMariadb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-mariadb-'));
  chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  // mariadbd will not run as root unless told to; the mysql OS user owns the files then.
  const user = isRoot ? ['--user=mysql'] : [];
  if (isRoot) execFileSync('chown', ['mysql', dir]);
  execFileSync('mariadb-install-db', ['--no-defaults', ...user, `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'pipe' });
  const port = await freePort();
  const server: ChildProcess = spawn('mariadbd', [
    '--no-defaults', ...user, `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1',
    `--socket=${path.join(dir, 'sock')}`, `--pid-file=${path.join(dir, 'pid')}`, '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0',
    ...options,
  ], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let connected: mysql.Connection | undefined;
  for (let attempt = 0; !connected; attempt++) {
    try {
      connected = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
    } catch (e) {
      if (server.exitCode !== null || attempt > 600) {
        server.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`throwaway MariaDB did not start (${options.join(' ')}): ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await connected.query('CREATE DATABASE test');
  await connected.end();
  return {
    port,
    async stop() {
      server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

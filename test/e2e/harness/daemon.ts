// Running the kube-proxy-ts daemon (dist/proxy/main.js) inside a node namespace, with its output
// captured to a log file and in memory so tests can wait for lines and show them on failure.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { HARNESS_DIR } from './spawn.js';
import { stopChild, track } from './processes.js';

/** The repository; one level further up when the compiled harness runs from dist/ (bench/ipvs-scale). */
export const REPO_ROOT = ((up) => (basename(up) === 'dist' ? dirname(up) : up))(resolve(HARNESS_DIR, '../../..'));
export const DEFAULT_DAEMON_ENTRY = join(REPO_ROOT, 'dist/proxy/main.js');

export interface DaemonOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where stdout+stderr go; default .tmp/e2e-logs/<ns>-<time>.log under the repository. */
  readonly logFile?: string;
  /** Script to run instead of dist/proxy/main.js. */
  readonly entry?: string;
  /** Extra node flags, e.g. ['--enable-source-maps']. */
  readonly nodeArgs?: readonly string[];
}

export interface Daemon {
  readonly pid: number;
  readonly logFile: string;
  /** null while running. */
  readonly exitCode: number | null;
  /** Everything written so far (stdout and stderr interleaved). */
  logs(): string;
  /** Resolves with the first matching line; rejects (with the log tail) on timeout or exit. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (128+signal if killed). */
  stop(graceMs?: number): Promise<number>;
}

export function startDaemon(nodeNs: string, args: readonly string[], opts: DaemonOptions = {}): Daemon {
  const logFile =
    opts.logFile ?? join(REPO_ROOT, '.tmp', 'e2e-logs', `${nodeNs}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const file = createWriteStream(logFile, { flags: 'a' });
  const entry = opts.entry ?? DEFAULT_DAEMON_ENTRY;
  const child = spawn(
    'ip',
    ['netns', 'exec', nodeNs, process.execPath, ...(opts.nodeArgs ?? ['--enable-source-maps']), entry, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) } },
  );
  track(child, nodeNs);

  let text = '';
  let listeners: Array<() => void> = [];
  const onData = (b: Buffer): void => {
    file.write(b);
    text += b.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  let code: number | null = null;
  const exited = new Promise<number>((res) => {
    child.once('exit', (c, signal) => {
      code = c ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0);
      file.end();
      for (const l of listeners) l();
      res(code);
    });
  });

  const waitForLog = (re: RegExp, timeoutMs = 30_000): Promise<string> =>
    new Promise((res, rej) => {
      const check = (): boolean => {
        const line = text.split('\n').find((l) => re.test(l));
        if (line !== undefined) {
          finish();
          res(line);
          return true;
        }
        if (code !== null) {
          finish();
          rej(new Error(`daemon in ${nodeNs} exited ${code} before logging ${re}:\n${tail(text)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        rej(new Error(`daemon in ${nodeNs} did not log ${re} within ${timeoutMs}ms:\n${tail(text)}`));
      }, timeoutMs);
      const listener = (): void => void check();
      const finish = (): void => {
        clearTimeout(timer);
        listeners = listeners.filter((l) => l !== listener);
      };
      if (!check()) listeners.push(listener);
    });

  return {
    pid: child.pid ?? -1,
    logFile,
    get exitCode() {
      return code;
    },
    logs: () => text,
    waitForLog,
    exited,
    stop: (graceMs = 5_000) => stopChild(child, graceMs),
  };
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

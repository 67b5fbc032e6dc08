// Runs the real, compiled daemon (dist/proxy/main.js) as a child process with JSON logs, and reads
// back where it serves health and metrics from its own log lines.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, sleep } from '../support/eventually.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const MAIN_JS = join(REPO_ROOT, 'dist/proxy/main.js');

export interface LogRecord {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export class DaemonProcess {
  readonly logs: LogRecord[] = [];
  readonly raw: string[] = [];
  private exited: Promise<number>;

  private constructor(readonly child: ChildProcess) {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.raw.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogRecord);
        } catch {
          // not a log record (e.g. a stack trace); kept in raw
        }
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    this.exited = new Promise((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 128 : 1))));
  }

  static start(args: readonly string[], env: NodeJS.ProcessEnv = process.env, argv0: readonly string[] = [], entry = MAIN_JS): DaemonProcess {
    const [cmd, ...pre] = argv0.length ? argv0 : ['node'];
    const child = spawn(cmd!, [...pre, ...(argv0.length ? ['node'] : []), entry, '--logging-format=json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    return new DaemonProcess(child);
  }

  /** Runs an executable (the package's bin script) instead of `node ENTRY`. */
  static startExecutable(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): DaemonProcess {
    const child = spawn(file, ['--logging-format=json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    return new DaemonProcess(child);
  }

  /** Waits for a log record matching `pred`. */
  async waitForLog(pred: (r: LogRecord) => boolean, what: string, timeoutMs = 15_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null) throw new Error(`daemon exited (${this.child.exitCode}) before: ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}\n${this.tail()}`);
      await sleep(50);
    }
  }

  async address(kind: 'metrics' | 'health checks'): Promise<string> {
    const r = await this.waitForLog((l) => l.msg === `serving ${kind}`, `serving ${kind}`);
    return `http://${String(r['address'])}`;
  }

  tail(n = 30): string {
    return this.raw.slice(-n).join('\n');
  }

  async stop(): Promise<number> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.child.exitCode;
  }

  wait(): Promise<number> {
    return this.exited;
  }
}

export function writeTempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-it-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export { eventually, sleep };

// Starting long-running helper processes (echo servers, forwarders) inside a namespace and
// waiting for their "READY" line. `ip netns exec` execs the program, so the child's pid is the
// program's own pid and killing the child kills the program.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track, stopChild } from './processes.js';

export const HARNESS_DIR = dirname(fileURLToPath(import.meta.url));
// The .mjs helpers are plain JavaScript that tsc does not copy, so code running the compiled
// harness from dist/test/e2e/harness (the demo) finds them in the source tree, unless a copy was
// put next to it (scripts/bench-ipvs.sh does that).
const SCRIPTS_DIR =
  basename(resolve(HARNESS_DIR, '../../..')) === 'dist' && !existsSync(join(HARNESS_DIR, 'echo-server.mjs'))
    ? join(resolve(HARNESS_DIR, '../../../..'), 'test/e2e/harness')
    : HARNESS_DIR;
export const harnessScript = (file: string): string => join(SCRIPTS_DIR, file);

export interface Helper {
  readonly child: ChildProcess;
  readonly pid: number;
  stop(): Promise<number>;
}

/**
 * Helpers start in about a second on the host; in the software-emulated IPVS guest on a loaded
 * host they can take over 10 s, so scripts/test-ipvs-guest.sh sets a longer wait.
 */
const READY_TIMEOUT_MS = Number(process.env['KPT_HELPER_READY_MS'] ?? '') || 10_000;

/** Spawn `node <script> ...args` in `ns` and resolve once it prints READY (or reject on exit). */
export function spawnReady(ns: string, script: string, args: readonly string[], timeoutMs = READY_TIMEOUT_MS): Promise<Helper> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, harnessScript(script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child, ns);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} in ${ns} not ready after ${timeoutMs}ms: ${stderr.trim()}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString('utf8');
      if (!out.includes('READY\n')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve({ child, pid: child.pid ?? -1, stop: () => stopChild(child, 2_000) });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} in ${ns} exited ${code} before ready: ${stderr.trim()}`));
    });
  });
}

// Network-namespace plumbing: running commands inside a namespace, creating and deleting them,
// and sweeping the leftovers of killed runs. Everything goes through argv vectors.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type ExecOptions, type ExecResult } from '../../../modes/shared/exec.js';

/** Run `argv` inside namespace `ns` (`ip netns exec`). */
export function nsExec(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  return exec(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/** Like nsExec but throws on a non-zero exit, with the command and its stderr. */
export async function nsExecOk(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await nsExec(ns, argv, opts);
  if (r.code !== 0) throw new Error(`[${ns}] ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** Run a root-namespace command and throw on failure (only `ip netns ...` management uses this). */
export async function run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await exec(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** Many `ip` commands in one process, all executed inside `ns` (`ip -n ns -batch -`). */
export async function ipBatch(ns: string, commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  await run(['ip', '-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n' });
}

export async function listNamespaces(): Promise<string[]> {
  const r = await exec(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Kill every process inside `ns` (synchronously, so it also works from an exit handler). */
export function killAllInSync(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Kill everything in `ns` and delete it; never throws (cleanup must not stop halfway). */
export function deleteNamespaceSync(ns: string): void {
  killAllInSync(ns);
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

// Owner records: a file per cluster prefix holding the creating process's pid, so sweepStale can
// tell a killed run's leftovers from namespaces a concurrently running test file still uses.
const OWNER_DIR = join(tmpdir(), 'kube-proxy-ts-e2e-owners');

export function recordOwner(prefix: string): void {
  mkdirSync(OWNER_DIR, { recursive: true });
  writeFileSync(join(OWNER_DIR, prefix), String(process.pid));
}

export function forgetOwner(prefix: string): void {
  rmSync(join(OWNER_DIR, prefix), { force: true });
}

function ownerAlive(prefix: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(OWNER_DIR, prefix), 'utf8'));
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Delete namespaces whose name starts with `prefix` (default: every harness cluster, "kpt")
 * and whose creating process is gone. Returns the names deleted.
 */
export async function sweepStale(prefix = 'kpt'): Promise<string[]> {
  const swept: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!ns.startsWith(prefix)) continue;
    const clusterPrefix = /^(kpt[0-9a-z]+-)/.exec(ns)?.[1];
    if (clusterPrefix && ownerAlive(clusterPrefix)) continue;
    deleteNamespaceSync(ns);
    swept.push(ns);
  }
  // Owner files whose process died and whose namespaces are now gone.
  try {
    for (const f of readdirSync(OWNER_DIR)) if (f.startsWith(prefix) && !ownerAlive(f)) forgetOwner(f);
  } catch {
    // No owner directory yet.
  }
  return swept;
}

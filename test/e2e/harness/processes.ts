// Every process the harness starts is registered here so that destroy() and the process exit /
// signal handlers can kill it: a leaked echo server or daemon would keep its namespace alive.

import type { ChildProcess } from 'node:child_process';

/** Live children and the namespace each runs in. */
const children = new Map<ChildProcess, string | undefined>();
const exitHooks = new Set<() => void>();
let installed = false;

export function track(child: ChildProcess, ns?: string): void {
  children.set(child, ns);
  child.once('exit', () => children.delete(child));
  installHandlers();
}

/** A synchronous cleanup to run if the test process exits or is interrupted. */
export function onProcessExit(hook: () => void): () => void {
  exitHooks.add(hook);
  installHandlers();
  return () => exitHooks.delete(hook);
}

function cleanupSync(): void {
  for (const c of children.keys()) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children.clear();
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // Keep going: the other hooks still have namespaces to delete.
    }
  }
  exitHooks.clear();
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.once('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    // A listener replaces the default "terminate" action, so after cleaning up re-raise the
    // signal with the listener gone (process.exit is not reliable: test runners intercept it).
    const handler = (): void => {
      cleanupSync();
      process.off(sig, handler);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Resolves once every tracked child in one of `namespaces` has exited (or after `timeoutMs`). */
export async function childrenExited(namespaces: readonly string[], timeoutMs = 3_000): Promise<void> {
  const waits = [...children.entries()]
    .filter(([, ns]) => ns !== undefined && namespaces.includes(ns))
    .map(([c]) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, timeoutMs))]);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (or 128+signal). */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<number> {
  const done = new Promise<number>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    if (child.signalCode !== null) return resolve(128 + signalNumber(child.signalCode));
    child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    void done.then(() => clearTimeout(timer));
  }
  return done;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  switch (signal) {
    case 'SIGTERM':
      return 15;
    case 'SIGKILL':
      return 9;
    case 'SIGINT':
      return 2;
    default:
      return 0;
  }
}

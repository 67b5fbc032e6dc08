// Daemon exit codes at the end of a suite: a daemon stopped with SIGTERM must shut down cleanly
// (exit 0). A non-zero code (a crash on shutdown, a hang killed after the grace period = 137)
// fails the suite, with the tail of that daemon's log to show why.

import { expect } from 'vitest';
import type { Proxy } from '../iptables-helpers.js';

export interface StoppedDaemon {
  readonly node: string;
  readonly code: number;
  readonly logTail: string;
}

/** SIGTERM every proxy (in parallel) and collect its exit code; never throws. */
export async function stopProxies(proxies: readonly Proxy[]): Promise<StoppedDaemon[]> {
  return Promise.all(
    proxies.map(async (p) => {
      const code = await p.stop().catch(() => -1);
      return { node: p.node.name, code, logTail: p.daemon.logs().split('\n').slice(-15).join('\n') };
    }),
  );
}

/** Every stopped daemon exited 0. Call after the suite's own clean-up, so a failure leaves nothing behind. */
export function expectCleanExits(stopped: readonly StoppedDaemon[]): void {
  for (const s of stopped) {
    expect(s.code, `daemon on ${s.node} exited ${s.code} after SIGTERM; log tail:\n${s.logTail}`).toBe(0);
  }
}

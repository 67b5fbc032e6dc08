// Typed wrappers around paced-client.mjs: connections opened on a fixed schedule (affinity
// timeouts) or every N ms for as long as a test needs (a client loop through faults).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from '../harness/processes.js';
import type { Hit } from '../harness/client.js';

const SCRIPT = fileURLToPath(new URL('./paced-client.mjs', import.meta.url));

/** A connection attempt and when it started (ms after the client started). */
export interface PacedHit extends Hit {
  readonly at: number;
}

function run(ns: string, spec: Record<string, unknown>, keepStdin: boolean) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SCRIPT, JSON.stringify(spec)], {
    stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  track(child, ns);
  const hits: PacedHit[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => hits.push(JSON.parse(l) as PacedHit));
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  return { child, hits, exited };
}

/** One connection at each offset (ms from start); resolves with every attempt, in start order. */
export async function pacedHits(ns: string, ip: string, port: number, offsetsMs: readonly number[], timeoutMs = 2000): Promise<PacedHit[]> {
  const r = run(ns, { ip, port, timeoutMs, offsetsMs }, false);
  const code = await r.exited;
  if (code !== 0) throw new Error(`paced client in ${ns} exited ${code}`);
  return [...r.hits].sort((a, b) => a.at - b.at);
}

export interface ClientLoop {
  /** Attempts settled so far. */
  readonly hits: readonly PacedHit[];
  /** Stops opening connections, waits for the open ones; resolves with every attempt. */
  stop(): Promise<PacedHit[]>;
}

/** A new connection every `intervalMs` until stop(). */
export function clientLoop(ns: string, ip: string, port: number, intervalMs = 50, timeoutMs = 2000): ClientLoop {
  const r = run(ns, { ip, port, timeoutMs, intervalMs }, true);
  return {
    hits: r.hits,
    stop: async () => {
      r.child.stdin?.end();
      await r.exited;
      return [...r.hits].sort((a, b) => a.at - b.at);
    },
  };
}

// An NftClient whose netlink socket lives in another network namespace: a child process
// (nft-agent.ts, run by vite-node under `ip netns exec`) holds the real NftNetlinkClient and
// this side proxies commit/dumpTable to it. Lets tests program nf_tables in a throw-away
// namespace without touching the root namespace's ruleset.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CommitResult, NftClient, NftFamily, NftOp, NftTableDump } from '../../modes/nftables/netlink/types.js';
import { fromWire, toWire } from './nft-wire.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

export interface NsNftClient extends NftClient {
  stats(): Promise<{ commits: number; bytesSent: number }>;
}

export async function openNsNftClient(ns: string, timeoutMs = 60_000): Promise<NsNftClient> {
  const child: ChildProcessWithoutNullStreams = spawn(
    'ip',
    ['netns', 'exec', ns, join(ROOT, 'node_modules', '.bin', 'vite-node'), join(HERE, 'nft-agent.ts')],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nft agent in ${ns} not ready: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`nft agent in ${ns} exited ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      if (line === 'READY') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const msg = fromWire(line) as { id: number; result?: unknown; error?: unknown };
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if ('error' in msg) p.reject(msg.error);
      else p.resolve(msg.result);
    });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`nft agent in ${ns} exited: ${stderr}`));
    pending.clear();
  });
  const call = (method: string, ...args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.stdin.write(`${toWire({ id, method, args })}\n`);
    });
  return {
    commit: (ops: readonly NftOp[]) => call('commit', ops) as Promise<CommitResult>,
    dumpTable: (family: NftFamily, name: string) => call('dumpTable', family, name) as Promise<NftTableDump | undefined>,
    stats: () => call('stats') as Promise<{ commits: number; bytesSent: number }>,
    close: async () => {
      child.stdin.end();
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      });
    },
  };
}

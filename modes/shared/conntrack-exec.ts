// The Conntrack interface backed by the conntrack(8) tool.
//
// conntrack exits 1 when a delete matched nothing ("0 flow entries have been deleted"); for us
// that is the normal case (nothing stale), so it counts as success. Any other failure is thrown
// so the caller can log it; stale entries are an availability problem, not a correctness one.

import type { Logger } from '../../proxy/log.js';
import type { Protocol } from '../../proxy/model/types.js';
import type { Conntrack } from './conntrack.js';
import { exec as defaultExec, type Exec } from './exec.js';

export interface ConntrackOptions {
  readonly exec?: Exec;
  readonly logger: Logger;
}

const NOTHING_DELETED = /\b0 flow entries have been deleted/;
const TIMEOUT_MS = 30_000;

const isIPv6 = (ip: string): boolean => ip.includes(':');
const familyArgs = (v6: boolean): string[] => (v6 ? ['-f', 'ipv6'] : []);
const protoArgs = (p: Protocol): string[] => ['-p', p.toLowerCase()];

export function createConntrack(opts: ConntrackOptions): Conntrack {
  const run = opts.exec ?? defaultExec;
  const logger = opts.logger;

  const remove = async (filter: string[]): Promise<void> => {
    const argv = ['conntrack', '-D', ...filter];
    const r = await run(argv, { timeoutMs: TIMEOUT_MS });
    if (r.code === 0 || (r.code === 1 && NOTHING_DELETED.test(r.stderr))) {
      logger.v(4, 'Cleared conntrack entries', { argv, result: r.stderr.trim() });
      return;
    }
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  };

  return {
    clearEntriesForIP: (ip, protocol) => remove([...familyArgs(isIPv6(ip)), ...protoArgs(protocol), '--orig-dst', ip]),
    clearEntriesForPort: (port, v6, protocol) =>
      remove([...familyArgs(v6), ...protoArgs(protocol), '--dport', String(port)]),
    clearEntriesForNAT: (origin, dest, protocol) =>
      remove([...familyArgs(isIPv6(origin)), ...protoArgs(protocol), '--orig-dst', origin, '--dst-nat', dest]),
    clearEntriesForPortNAT: (dest, port, protocol) =>
      remove([...familyArgs(isIPv6(dest)), ...protoArgs(protocol), '--dport', String(port), '--dst-nat', dest]),
  };
}

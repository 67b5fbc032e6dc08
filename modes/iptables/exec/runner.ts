// The real IptablesRunner: iptables(-nft|-legacy)-restore / -save through the shared exec.
//
// Payloads go in on stdin with --noflush so chains we do not mention (other software's, or ours
// that did not change) are left alone, and each restore is one atomic transaction per table.

import type { Logger } from '../../../proxy/log.js';
import type { IPFamily } from '../../../proxy/model/types.js';
import { exec as defaultExec, type Exec } from '../../shared/exec.js';
import type { IptablesBackend, IptablesRunner, Table } from '../runner.js';
import { detectBackend } from './backend.js';
import { lineCount, restoreError } from './restore-error.js';
import { parseListedChain } from '../save-parse.js';
import { chainMissing, commandName, toolName } from './tools.js';

export interface IptablesRunnerOptions {
  /** 'auto' (the default) detects the backend the host uses; see backend.ts. */
  readonly backend?: 'auto' | IptablesBackend;
  /** Injectable so tests can run the tools in a network namespace or fake them. */
  readonly exec?: Exec;
  readonly logger: Logger;
}

/** Seconds to wait for the xtables lock, as upstream (`-w 5`). */
const LOCK_WAIT_SECONDS = '5';
/** Microseconds between lock polls (`-W 100000`); only legacy polls a lock, nft just warns. */
const LOCK_POLL_MICROS = '100000';
const TOOL_TIMEOUT_MS = 120_000;
/**
 * `iptables-legacy -S` takes the xtables lock, which iptables-save does not, and the leftover
 * cleanup lists chains while this daemon's own restores (tens of seconds at 10,000 services) may
 * hold it: wait for it well beyond one restore rather than fail the cleanup.
 */
const LIST_LOCK_WAIT_SECONDS = '100';
/**
 * A restore is killed only after this long without taking input (exec.ts), plus 30 s per MiB of
 * its last two chunks. Measured at 10,000 services on a loaded 2-core node: a partial sync of
 * ~5,800 changed service ports spent more than 120 s in iptables-nft-restore after its last chunk
 * was written (in the kernel commits, not stuck); killing it made the next sync a full one (the
 * "unknown" full sync during the memory bench's churn). Upstream runs iptables-restore without
 * any time limit; this one only guards against a tool that hangs for good.
 */
const RESTORE_TIMEOUT_MS = 600_000;
const RESTORE_MS_PER_MIB = 30_000;
const RECENT_PAYLOADS = 4;

export async function createIptablesRunner(opts: IptablesRunnerOptions): Promise<IptablesRunner> {
  const run = opts.exec ?? defaultExec;
  const logger = opts.logger;
  const backend =
    opts.backend === undefined || opts.backend === 'auto' ? await detectBackend(logger, run) : opts.backend;

  const restoreArgv = (family: IPFamily): string[] => {
    const argv = [toolName(backend, family, 'restore'), '--noflush', '-w', LOCK_WAIT_SECONDS];
    if (backend === 'legacy') argv.push('-W', LOCK_POLL_MICROS);
    return argv;
  };

  return {
    backend,
    async restore(family, payload) {
      const argv = restoreArgv(family);
      const tool = argv[0] ?? 'iptables-restore';
      logger.v(5, 'Running iptables-restore', { tool, bytes: payload.length });
      const r = await run(argv, { input: payload, timeoutMs: RESTORE_TIMEOUT_MS, timeoutMsPerMiB: RESTORE_MS_PER_MIB });
      if (r.code !== 0) throw restoreError(tool, r.code, r.stderr, payload);
    },
    async restoreEach(family, payloads) {
      const argv = restoreArgv(family);
      const tool = argv[0] ?? 'iptables-restore';
      // The last few payloads, for the failing line's context: keeping all of a 10,000-service
      // sync would hold ~50 MB, and the tool stops at the transaction that failed.
      const recent: { firstLine: number; text: string }[] = [];
      let lines = 0;
      let count = 0;
      function* recorded(): Generator<string> {
        for (const p of payloads) {
          recent.push({ firstLine: lines + 1, text: p });
          if (recent.length > RECENT_PAYLOADS) recent.shift();
          lines += lineCount(p);
          count++;
          yield p;
        }
      }
      const r = await run(argv, { inputChunks: recorded(), timeoutMs: RESTORE_TIMEOUT_MS, timeoutMsPerMiB: RESTORE_MS_PER_MIB });
      logger.v(5, 'Ran iptables-restore with several transactions', { tool, transactions: count });
      if (r.code === 0) return;
      const base = recent[0]?.firstLine ?? 1;
      throw restoreError(tool, r.code, r.stderr, recent.map((x) => x.text).join(''), base - 1);
    },
    async save(family, table?: Table) {
      const argv = [toolName(backend, family, 'save')];
      if (table) argv.push('-t', table);
      const r = await run(argv, { timeoutMs: TOOL_TIMEOUT_MS });
      if (r.code !== 0) {
        throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      }
      return r.stdout;
    },
    async listChain(family, table, chain) {
      const argv = [commandName(backend, family), '-w', LIST_LOCK_WAIT_SECONDS, '-t', table, '-S', chain];
      const r = await run(argv, { timeoutMs: TOOL_TIMEOUT_MS });
      if (r.code === 0) return parseListedChain(r.stdout, chain);
      if (chainMissing(r.stderr, table, chain)) return undefined;
      throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    },
  };
}

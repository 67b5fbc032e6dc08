// The narrow interface between iptables rendering and the kernel. The real implementation runs
// iptables-restore / iptables-save (nft or legacy backend, detected like the host's); the fake in
// test/fakes/ parses the same payloads in memory so rendering can be tested without root.

import type { IPFamily } from '../../proxy/model/types.js';
import type { SavedChain } from './save-parse.js';

export type IptablesBackend = 'nft' | 'legacy';
export type Table = 'nat' | 'filter' | 'mangle' | 'raw';

export interface IptablesRunner {
  readonly backend: IptablesBackend;
  /**
   * Apply a complete `iptables-restore` payload (one or more `*table ... COMMIT` blocks) atomically
   * with `--noflush`, waiting on the xtables lock. Throws RestoreError on failure.
   */
  restore(family: IPFamily, payload: string): Promise<void>;
  /**
   * Apply several payloads in order, each its own transaction (iptables-restore commits at every
   * COMMIT line), in a single run of the tool: a large sync cut into many transactions pays for
   * one process, not one per transaction. Payloads are taken from the iterator as the tool
   * consumes them. Transactions before a failing one stay applied. Throws RestoreError.
   */
  restoreEach(family: IPFamily, payloads: Iterable<string>): Promise<void>;
  /** `iptables-save [-t table]` output. */
  save(family: IPFamily, table?: Table): Promise<string>;
  /**
   * One chain (`iptables -t TABLE -S CHAIN`), undefined when the table has no such chain. Costs
   * what that chain holds, where save() costs the whole table (nat is 46 MiB of text at 10,000
   * services): for looking at a few known chains, e.g. the userspace mode's leftovers.
   */
  listChain(family: IPFamily, table: Table, chain: string): Promise<SavedChain | undefined>;
}

export class RestoreError extends Error {
  constructor(
    message: string,
    /** 1-based line of the payload iptables-restore complained about, when it said. */
    readonly line?: number,
    /**
     * The payload lines around `line`, numbered. Carried on the error rather than logged where it
     * is thrown, so that the one line that reports the failed sync shows them (see errorFields).
     */
    readonly context?: readonly string[],
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

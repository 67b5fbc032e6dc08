// What a full sync needs to know of the kernel, read from iptables-save: every chain that is not
// a service chain in full (built-in, dispatch and static chains: few rules, compared rule by
// rule), and each service chain only as a digest (payload/signature.ts), computed line by line so
// the ~430,000 rules of a 10,000-service node never become strings on the heap.

import { isServiceChain } from './names.js';
import { ChainDigest } from './payload/signature.js';
import { parseSave, type SavedTables } from './save-parse.js';

export interface KernelView {
  /** Every table and chain; service chains appear without their rules. */
  readonly tables: SavedTables;
  /** nat service chains (KUBE-SVC/SVL/EXT/FW/SEP-…) → digest of their rules. */
  readonly serviceChains: ReadonlyMap<string, string>;
  /** Rules in all tables. */
  readonly rules: number;
}

const EMPTY_DIGEST = new ChainDigest().digest();

export function readKernel(saveText: string): KernelView {
  const kept: string[] = [];
  const serviceChains = new Map<string, string>();
  let rules = 0;
  let table = '';
  // iptables-save prints a chain's rules together, so one digest is open at a time.
  let open: { chain: string; digest: ChainDigest } | undefined;
  const close = (): void => {
    if (open) serviceChains.set(open.chain, open.digest.digest());
    open = undefined;
  };
  let start = 0;
  while (start < saveText.length) {
    let end = saveText.indexOf('\n', start);
    if (end < 0) end = saveText.length;
    const line = saveText.slice(start, end).replace(/^\[\d+:\d+\]\s*/, '');
    start = end + 1;
    if (line.startsWith('-A ')) {
      rules++;
      const sp = line.indexOf(' ', 3);
      const chain = sp < 0 ? line.slice(3) : line.slice(3, sp);
      if (table === 'nat' && isServiceChain(chain)) {
        if (open?.chain !== chain) {
          close();
          // A chain seen twice (never printed so) gets a digest that matches nothing: rewritten.
          open = { chain, digest: new ChainDigest() };
          const seen = serviceChains.get(chain);
          if (seen !== undefined && seen !== EMPTY_DIGEST) open.digest.add(`-j interleaved-${chain}`);
        }
        open.digest.add(sp < 0 ? '' : line.slice(sp + 1));
        continue;
      }
    } else if (line.startsWith('*')) {
      close();
      table = line.slice(1).trim();
    } else if (line.startsWith(':') && table === 'nat') {
      const name = line.slice(1).split(/\s/, 1)[0] ?? '';
      if (isServiceChain(name)) serviceChains.set(name, EMPTY_DIGEST);
    }
    kept.push(line);
  }
  close();
  return { tables: parseSave(kept.join('\n')), serviceChains, rules };
}

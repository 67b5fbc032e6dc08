// Choosing between the nft and legacy iptables backends the way the host's kubelet did.
//
// Two sets of rules in two backends both apply to packets, so kube-proxy must write to the same
// backend as everything else on the node. Like kubernetes-sigs/iptables-wrappers: first look for
// the marker chains kubelet creates (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY in mangle); failing
// that, count rules in each backend. Legacy wins only when it clearly holds more, because nft is
// the default of every current distribution.

import type { Logger } from '../../../proxy/log.js';
import type { IPFamily } from '../../../proxy/model/types.js';
import { exec as defaultExec, type Exec } from '../../shared/exec.js';
import type { IptablesBackend } from '../runner.js';
import { toolName } from './tools.js';

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
const MARKER_CHAIN = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)\s/;
const SAVE_TIMEOUT_MS = 30_000;

/** Results per Exec so the probes (which load kernel modules and walk every table) run once. */
const cache = new WeakMap<Exec, Promise<IptablesBackend>>();

export function detectBackend(logger: Logger, run: Exec = defaultExec): Promise<IptablesBackend> {
  let found = cache.get(run);
  if (!found) {
    found = probe(logger, run);
    cache.set(run, found);
    // A failed probe must not poison the cache: the next caller tries again.
    found.catch(() => cache.delete(run));
  }
  return found;
}

async function probe(logger: Logger, run: Exec): Promise<IptablesBackend> {
  const markers = async (backend: IptablesBackend): Promise<number> =>
    sum(FAMILIES.map((f) => countLines(run, [toolName(backend, f, 'save'), '-t', 'mangle'], MARKER_CHAIN)));
  const nftMarkers = await markers('nft');
  if (nftMarkers > 0) return chosen(logger, 'nft', 'kubelet marker chains in nft');
  const legacyMarkers = await markers('legacy');
  if (legacyMarkers > 0) return chosen(logger, 'legacy', 'kubelet marker chains in legacy');

  const rules = async (backend: IptablesBackend): Promise<number> =>
    sum(FAMILIES.map((f) => countLines(run, [toolName(backend, f, 'save')], /^-/)));
  const [nftRules, legacyRules] = await Promise.all([rules('nft'), rules('legacy')]);
  logger.v(2, 'iptables backend rule counts', { nft: nftRules, legacy: legacyRules });
  return legacyRules > nftRules
    ? chosen(logger, 'legacy', 'more rules in legacy')
    : chosen(logger, 'nft', 'nft has at least as many rules');
}

function chosen(logger: Logger, backend: IptablesBackend, reason: string): IptablesBackend {
  logger.info('Detected iptables backend', { backend, reason });
  return backend;
}

async function sum(parts: Promise<number>[]): Promise<number> {
  return (await Promise.all(parts)).reduce((a, b) => a + b, 0);
}

/** Lines of a save tool's output matching `re`; a missing or failing tool counts as none. */
async function countLines(run: Exec, argv: string[], re: RegExp): Promise<number> {
  try {
    const r = await run(argv, { timeoutMs: SAVE_TIMEOUT_MS });
    if (r.code !== 0) return 0;
    return r.stdout.split('\n').filter((l) => re.test(l)).length;
  } catch {
    return 0;
  }
}

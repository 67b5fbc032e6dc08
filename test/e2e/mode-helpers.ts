// What differs between the iptables and nftables dataplanes for the shared end-to-end scenarios:
// the daemon's flags, and how a test reads what is programmed (iptables-save vs `nft list`) to
// wait for a change or to find the evidence of a drop. The scenarios themselves are written once.

import { nsExec, type NodeHandle } from './harness/index.js';
import {
  eventually,
  iptablesSave,
  linesForService,
  proxyArgs,
  waitForRule,
  waitForTargets as iptablesWaitForTargets,
  withFlags,
  type ProxyFlavour,
} from './iptables-helpers.js';

export type E2EMode = 'iptables' | 'nftables';
export const E2E_MODES: readonly E2EMode[] = ['iptables', 'nftables'];

export interface ModeOps {
  readonly mode: E2EMode;
  readonly flavour: ProxyFlavour;
  /** Waits until service port `key` ("default/web:http") is DNATed to exactly `targets`. */
  waitForTargets(ns: string, key: string, targets: readonly string[], opts?: { family?: 'IPv4' | 'IPv6'; timeoutMs?: number }): Promise<void>;
  /** Waits until traffic to service port `key` is rejected as having no endpoints. */
  waitForRejected(ns: string, key: string): Promise<void>;
  /** Packets dropped for LB IP `lbIP` because their source was outside the allowed ranges. */
  firewallDrops(ns: string, lbIP: string): Promise<number>;
  /** The source ranges programmed as allowed for `key`'s load balancer IP `lbIP`. */
  allowedSources(ns: string, key: string, lbIP: string): Promise<string[]>;
}

export async function nftList(ns: string, family: 'IPv4' | 'IPv6' = 'IPv4', what: string[] = ['table']): Promise<string> {
  const argv = ['nft', 'list', ...what.slice(0, 1), family === 'IPv6' ? 'ip6' : 'ip', 'kube-proxy', ...what.slice(1)];
  const r = await nsExec(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The `map NAME {...}` / `chain NAME {...}` blocks of `nft list table` output, by header. */
export function nftBlocks(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^\t(map|set|chain) (\S+) \{\n([\s\S]*?)^\t\}/gm;
  for (const m of text.matchAll(re)) out.set(`${m[1]} ${m[2]}`, m[3] ?? '');
  return out;
}

/** `default/web:http` → the readable tail of its object names, any protocol. */
function idPattern(key: string): RegExp {
  const [nsName = '', port = ''] = key.split(/:(?=[^:]*$)/);
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`-${esc(nsName)}/(tcp|udp|sctp)/${esc(port)}$`);
}

const escRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * DNAT targets of a service port in nftables mode: without affinity, the slot entries of the
 * destinations its count-class memberships name (by their comment, the service port key); with
 * affinity, its own chains' pick rules' comments.
 */
export function nftTargets(text: string, key: string): string[] {
  const id = idPattern(key);
  const out = new Set<string>();
  const blocks = nftBlocks(text);
  const dests = new Set<string>();
  const member = new RegExp(`(?:^|[{,])\\s*([^{},]+?) comment "${escRe(key)}"`, 'g');
  for (const [header, body] of blocks) {
    const [kind, name = ''] = header.split(' ');
    // Keyed `<kind>:<destination>`: a NodePort's `tcp . 30080` is looked up only in NodePort maps.
    const cls = /^((?:nodeport-)?(?:cluster|local))-\d+$/.exec(name);
    if (kind === 'set' && cls) for (const m of body.matchAll(member)) dests.add(`${cls[1]}:${m[1]!.trim()}`);
    if (kind === 'chain' && /^(service|local)-/.test(name) && id.test(name)) for (const m of body.matchAll(/comment "(\[?[0-9a-f.:]+\]?:\d+)"/g)) out.add(m[1]!);
  }
  for (const [header, body] of blocks) {
    const [kind, name = ''] = header.split(' ');
    const map = /^((?:nodeport-)?(?:cluster|local))-endpoints$/.exec(name);
    if (kind !== 'map' || !map) continue;
    for (const d of dests) {
      if (!d.startsWith(`${map[1]}:`)) continue;
      const dest = escRe(d.slice(map[1]!.length + 1));
      for (const m of body.matchAll(new RegExp(`(?:^|[{,])\\s*${dest} \\. \\d+ comment "(\\[?[0-9a-f.:]+\\]?:\\d+)"`, 'g'))) out.add(m[1]!);
    }
  }
  return [...out].sort();
}

const NFT_FLAVOUR: ProxyFlavour = {
  args: (node: NodeHandle, kubeconfig: string, extra: readonly string[] = []) => {
    // nftables mode's periods come from upstream's generic flags.
    const mapped = extra.map((a) => a.replace(/^--iptables-(min-)?sync-period=/, '--$1sync-period='));
    return withFlags(
      proxyArgs(node, kubeconfig).filter((a) => !/^--iptables-(min-)?sync-period=/.test(a)),
      ['--mode=nftables', '--min-sync-period=100ms', '--sync-period=30s', ...mapped],
    );
  },
  // The host is shared with other suites: a loaded 2-core machine can take long to start node.
  firstSyncTimeoutMs: 90_000,
};

const iptablesOps: ModeOps = {
  mode: 'iptables',
  // As nftables' below: on a loaded shared 2-core host, starting node alone can take over 30 s.
  flavour: { args: proxyArgs, firstSyncTimeoutMs: 90_000 },
  waitForTargets: iptablesWaitForTargets,
  async waitForRejected(ns, key) {
    const esc = key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    await waitForRule(ns, 'filter', new RegExp(`${esc}.* has no endpoints.* -j REJECT`));
  },
  async firewallDrops(ns, lbIP) {
    const filter = await iptablesSave(ns, 'IPv4', 'filter', true);
    const drop = filter.split('\n').find((l) => /-A KUBE-PROXY-FIREWALL /.test(l) && l.includes(`${lbIP}/32`) && / -j DROP\b/.test(l));
    return Number(/^\[(\d+):/.exec(drop ?? '')?.[1] ?? 0);
  },
  async allowedSources(ns, key) {
    const lines = linesForService(await iptablesSave(ns, 'IPv4', 'nat'), `${key} loadbalancer IP`);
    return lines.flatMap((l) => [.../ -s (\S+) /.exec(l)?.slice(1, 2) ?? []]).map((c) => c.replace(/\/32$/, ''));
  },
};

const nftablesOps: ModeOps = {
  mode: 'nftables',
  flavour: NFT_FLAVOUR,
  async waitForTargets(ns, key, targets, opts = {}) {
    const want = [...targets].sort().join(',');
    let last = '';
    await eventually(async () => {
      last = nftTargets(await nftList(ns, opts.family), key).join(',');
      return last === want;
    }, `${key} nftables targets in ${ns} to become [${want}]`, opts.timeoutMs ?? 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; last seen [${last}]`);
    });
  },
  async waitForRejected(ns, key) {
    await eventually(async () => {
      const body = nftBlocks(await nftList(ns)).get('map no-endpoint-services') ?? '';
      return body.includes(`comment "${key} has no endpoints" : goto reject-chain`);
    }, `${key} in @no-endpoint-services of ${ns}`, 20_000);
  },
  async firewallDrops(ns) {
    // One drop rule for every firewalled LB IP: its counter counts them all.
    const text = await nftList(ns, 'IPv4', ['chain', 'firewall-check']);
    return Number(/counter packets (\d+)/.exec(text)?.[1] ?? 0);
  },
  async allowedSources(ns, _key, lbIP) {
    const body = nftBlocks(await nftList(ns)).get('set firewall-allow') ?? '';
    const prefix = `${lbIP} . tcp . 80 . `;
    return [...body.matchAll(/(\d+\.\d+\.\d+\.\d+ \. \w+ \. \d+ \. [\d./]+)/g)].map((m) => m[1]!).filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
  },
};

export function modeOps(mode: E2EMode): ModeOps {
  return mode === 'iptables' ? iptablesOps : nftablesOps;
}

// Builders for nftables-mode tests: model values, config, a dataplane on the fake client, and a
// canonical form of a table dump to compare an incrementally synced table with a fresh one.

import { defaultConfig, type Draft } from '../../../proxy/config/defaults.js';
import { silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, Endpoint, NodeInfo, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import type { ThroughputGc } from '../../../proxy/throughput-gc.js';
import { createNftablesDataplane } from '../../../modes/nftables/dataplane.js';
import { buildNftOptions, type NftRenderOptions } from '../../../modes/nftables/options.js';
import type { NftTableDump } from '../../../modes/nftables/netlink/types.js';
import { ruleDigest } from '../../../modes/nftables/view.js';
import type { Dataplane } from '../../../modes/dataplane.js';
import type { Conntrack } from '../../../modes/shared/conntrack.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';

export const NODE_IP = '198.18.0.2';

export function node(extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name: 'node-a', labels: {}, zone: '', addresses: [NODE_IP], podCIDRs: ['198.18.16.0/24'], eligible: true, ...extra };
}

export function sp(ns: string, name: string, extra: Partial<ServicePort> = {}): ServicePort {
  return makeServicePort(ns, name, extra.portName ?? 'p80', extra);
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(ip, { nodeName: 'node-b', ...extra });
}

export function localEp(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return ep(ip, { nodeName: 'node-a', isLocal: true, ...extra });
}

export function state(entries: [ServicePort, Endpoint[]][], n: NodeInfo = node()): ProxyState {
  return {
    services: new Map(entries.map(([s]) => [s.key, s])),
    endpoints: new Map(entries.map(([s, e]) => [s.key, e])),
    node: n,
  };
}

export function config(edit: (d: Draft) => void = () => undefined): Draft {
  const d = defaultConfig();
  d.mode = 'nftables';
  d.clusterCIDRs = ['198.18.128.0/17', '2001:db8:1::/64'];
  edit(d);
  return d;
}

export function options(edit: (d: Draft) => void = () => undefined, family: 'IPv4' | 'IPv6' = 'IPv4'): NftRenderOptions {
  return buildNftOptions({ config: config(edit), node: node(), family, localAddresses: [NODE_IP, '127.0.0.1'] });
}

export interface ConntrackCall {
  readonly op: string;
  readonly args: readonly unknown[];
}

export function recordingConntrack(): { ct: Conntrack; calls: ConntrackCall[] } {
  const calls: ConntrackCall[] = [];
  const rec = (op: string) => async (...args: unknown[]): Promise<void> => void calls.push({ op, args });
  return {
    calls,
    ct: {
      clearEntriesForIP: rec('ip'),
      clearEntriesForPort: rec('port'),
      clearEntriesForNAT: rec('nat'),
      clearEntriesForPortNAT: rec('portNat'),
    },
  };
}

export interface Harness {
  readonly client: FakeNftClient;
  readonly dp: Dataplane;
  readonly metrics: ProxyMetrics;
  readonly conntrack: ConntrackCall[];
}

export function harness(
  opts: { edit?: (d: Draft) => void; families?: ('IPv4' | 'IPv6')[]; batchOps?: number; client?: FakeNftClient; gc?: ThroughputGc } = {},
): Harness {
  const client = opts.client ?? new FakeNftClient();
  const metrics = new ProxyMetrics({ processMetrics: false });
  const ct = recordingConntrack();
  const dp = createNftablesDataplane({
    config: config(opts.edit),
    client,
    conntrack: ct.ct,
    metrics,
    logger: silentLogger,
    families: opts.families ?? ['IPv4'],
    nodeIPs: () => [NODE_IP],
    localAddresses: () => [NODE_IP, '127.0.0.1'],
    ...(opts.batchOps !== undefined ? { batchOps: opts.batchOps } : {}),
    ...(opts.gc !== undefined ? { gc: opts.gc } : {}),
  });
  return { client, dp, metrics, conntrack: ct.calls };
}

export function changes(keys: string[], removed: string[] = []): ChangeSet {
  return { changed: new Set(keys), removed: new Set(removed), nodeChanged: false, triggerTimes: [] };
}

/**
 * A dump with handles dropped, rules as digests, and endpoint maps as sorted values with the keys
 * checked to be 0..N-1 (which index an endpoint got depends on the history of syncs).
 */
export function canonical(d: NftTableDump | undefined): unknown {
  if (!d) return undefined;
  const chains = Object.fromEntries(
    [...d.chains].sort((a, b) => a.name.localeCompare(b.name)).map((c) => {
      const rules = d.rules.filter((r) => r.chain === c.name).map((r) => ruleDigest(r.exprs, r.comment));
      // Count-class rules match disjoint sets: their order is the order the classes appeared in.
      return [c.name, { base: c.base ?? null, rules: c.name.endsWith('-classes') ? rules.sort() : rules }];
    }),
  );
  const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');
  const sets = Object.fromEntries(
    [...d.sets].sort((a, b) => a.name.localeCompare(b.name)).map((s) => {
      const els = d.elements.get(s.name) ?? [];
      const { handle: _h, ...def } = s;
      if (/^(nodeport-)?(cluster|local)-endpoints$/.test(s.name)) {
        // Shared slot maps: per destination (the key without its slot), slots 0..N-1.
        const byDest = new Map<string, { slots: number[]; values: string[] }>();
        for (const e of els) {
          const dest = hex(e.key.subarray(0, e.key.length - 4));
          const g = byDest.get(dest) ?? { slots: [], values: [] };
          byDest.set(dest, g);
          g.slots.push(new DataView(e.key.buffer, e.key.byteOffset + e.key.length - 4, 4).getUint32(0, true));
          g.values.push(hex(e.data));
        }
        const out: Record<string, string[]> = {};
        for (const [dest, g] of [...byDest].sort()) {
          g.slots.sort((a, b) => a - b);
          if (g.slots.some((k, i) => k !== i)) throw new Error(`${s.name} ${dest}: slots ${g.slots.join(',')} are not 0..N-1`);
          out[dest] = g.values.sort();
        }
        return [s.name, { def, byDest: out }];
      }
      if (s.name.includes('endpoints-')) {
        const keys = els.map((e) => new DataView(e.key.buffer, e.key.byteOffset, 4).getUint32(0, true)).sort((a, b) => a - b);
        if (keys.some((k, i) => k !== i)) throw new Error(`${s.name}: keys ${keys.join(',')} are not 0..N-1`);
        return [s.name, { def, values: els.map((e) => hex(e.data)).sort() }];
      }
      return [s.name, { def, elements: els.map((e) => `${hex(e.key)}-${hex(e.keyEnd)}:${hex(e.data)}:${e.verdict?.code ?? ''}:${e.verdict?.chain ?? ''}`).sort() }];
    }),
  );
  return { chains, sets };
}

/** The numgen rules of a dump (modulus by chain), to check them against the endpoint maps. */
export function numgenModuli(d: NftTableDump): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of d.rules) for (const e of r.exprs) if (e.type === 'numgen') out.set(r.chain, e.modulus);
  return out;
}

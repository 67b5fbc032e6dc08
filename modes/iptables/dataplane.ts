// The iptables Dataplane: per family, render (reusing unchanged service ports), restore a full or
// partial --noflush payload, then update metrics and clear stale UDP/SCTP conntrack entries.
// Any failure throws (the runner retries) and forces the next sync of that family to be full.

import type { ProxyConfig } from '../../proxy/config/types.js';
import type { Logger } from '../../proxy/log.js';
import type { IPFamily, ProxyState } from '../../proxy/model/types.js';
import { hostAddressReader, type HostAddresses } from '../../proxy/node-ips.js';
import type { Gauge } from 'prom-client';
import type { ProxyMetrics } from '../../sync/metrics.js';
import type { CleanupOptions, CleanupReport, Dataplane, SyncRequest, SyncResult } from '../dataplane.js';
import type { Conntrack } from '../shared/conntrack.js';
import { executeConntrackPlan, planConntrackCleanup } from '../shared/conntrack-plan.js';
import { buildCleanupPayload, countCleanupPayload } from './cleanup.js';
import { cleanupForIpvs } from './cleanup-for-ipvs.js';
import { FamilySync, type FamilySyncResult } from './family-sync.js';
import { OptionsCache, type RenderOptions } from './options.js';
import type { IptablesRunner } from './runner.js';
import { parseSave } from './save-parse.js';

export interface IptablesDataplaneOptions {
  readonly config: ProxyConfig;
  readonly runner: IptablesRunner;
  readonly conntrack: Conntrack;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly families: IPFamily[];
  /** The node's primary IPs (defaults to the Node object's addresses). */
  readonly nodeIPs?: () => string[];
  /** Addresses on local interfaces, for CIDR-valued --nodeport-addresses (injectable for tests). */
  readonly localAddresses?: () => string[];
  /** Chains per restore before a sync is split (default by backend; see payload/pack.ts). */
  readonly chainBudget?: number;
}

export function createIptablesDataplane(opts: IptablesDataplaneOptions): Dataplane {
  const log = opts.logger.with({ mode: 'iptables' });
  const families = opts.families.map((f) => new FamilySync(f, opts.runner, log.with({ ipFamily: f }), opts.chainBudget));
  let lastState: ProxyState | undefined;
  const optionCaches = new Map(opts.families.map((f) => [f, new OptionsCache()]));
  const published = new Map(opts.families.map((f) => [f, new PublishedGauges()]));

  const hostAddresses = hostAddressReader({ selection: opts.config.nodePortAddresses, nodeIPs: opts.nodeIPs, localAddresses: opts.localAddresses });
  const optionsFor = (state: ProxyState, family: IPFamily, host: HostAddresses): RenderOptions =>
    (optionCaches.get(family) ?? new OptionsCache()).get({
      config: opts.config,
      node: state.node,
      family,
      nodeIPs: host.nodeIPs ?? state.node.addresses,
      localAddresses: host.local,
    });

  /** One family's sync and how long it took (the family's own share of the sync's time). */
  async function syncFamily(fs: FamilySync, req: SyncRequest, host: HostAddresses): Promise<{ r: FamilySyncResult; seconds: number }> {
    const start = performance.now();
    const o = optionsFor(req.state, fs.family, host);
    const full = req.full || req.changes.nodeChanged || fs.needsFull(o);
    try {
      const r = full ? await fs.full(req.state, o) : await fs.partial(req.state, req.changes.changed, o);
      const seconds = (performance.now() - start) / 1000;
      recordMetrics(opts.metrics, published.get(fs.family) ?? new PublishedGauges(), fs, o, r, seconds);
      return { r, seconds };
    } catch (e) {
      fs.markInconsistent();
      opts.metrics.iptablesRestoreFailures.inc({ ip_family: fs.family });
      if (!full) opts.metrics.iptablesPartialRestoreFailures.inc({ ip_family: fs.family });
      // Logged once, by the sync runner that catches it (the tool's own error names the family).
      throw e;
    }
  }

  return {
    mode: 'iptables',
    async sync(req: SyncRequest): Promise<SyncResult> {
      const results: FamilySyncResult[] = [];
      const familySeconds = new Map<IPFamily, number>();
      const host = hostAddresses();
      for (const fs of families) {
        const { r, seconds } = await syncFamily(fs, req, host);
        results.push(r);
        familySeconds.set(fs.family, seconds);
      }
      const full = results.some((r) => r.full);
      const keys = full ? new Set([...req.state.services.keys(), ...(lastState?.services.keys() ?? [])]) : req.changes.changed;
      const ops = planConntrackCleanup(lastState, req.state, keys, opts.families);
      const ctErrors = await executeConntrackPlan(opts.conntrack, ops);
      for (const err of ctErrors) log.warn('conntrack cleanup failed', { err });
      lastState = req.state;
      return {
        full,
        familySeconds,
        stats: {
          bytes: sum(results, (r) => r.bytes),
          natRulesWritten: sum(results, (r) => r.written.nat),
          filterRulesWritten: sum(results, (r) => r.written.filter),
          servicePortsRewritten: sum(results, (r) => r.servicesRewritten),
          conntrackOps: ops.length,
          // A vanished canary means an external flush; this full sync has just repaired it.
          canaryMissing: results.filter((r) => r.canaryMissing).length,
        },
      };
    },
    async cleanup(co?: CleanupOptions): Promise<CleanupReport | void> {
      // IPVS mode programs chains of the same names (KUBE-SERVICES, KUBE-POSTROUTING, ...) and
      // has rewritten them by now: only what it does not share goes (cleanup-for-ipvs.ts).
      if (co?.active === 'ipvs') return cleanupForIpvs(opts.runner, log);
      // userspace and nftables modes program no chain of ours: everything goes.
      return cleanupAll(opts.runner, log);
    },
    async rules(family: IPFamily): Promise<string | undefined> {
      // What the kernel holds (our rules and anyone else's), so a trace shows what packets meet.
      if (!opts.families.includes(family)) return undefined;
      const [nat, filter] = await Promise.all([opts.runner.save(family, 'nat'), opts.runner.save(family, 'filter')]);
      return nat + filter;
    },
    async describe(key: string): Promise<unknown> {
      return {
        mode: 'iptables',
        service: key,
        families: families.map((fs) => {
          const r = fs.describe(key);
          return {
            family: fs.family,
            chains: r ? Object.fromEntries(r.chains) : {},
            dispatch: r ? Object.fromEntries(r.dispatch) : {},
          };
        }),
      };
    },
  };
}


function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}

/**
 * The gauge values this dataplane last set for one family. prom-client's set() validates and
 * hashes its labels and allocates on every call (twelve calls per sync were a tenth of a partial
 * sync's CPU time), and after a one-endpoint change most of these values are what they were:
 * only a changed value is set. This dataplane is the only writer of these series while it is the
 * active mode (a mode switch makes a new one, whose cache starts empty).
 */
class PublishedGauges {
  private readonly values = new Map<string, number>();

  set(g: Gauge<string>, id: string, labels: Record<string, string>, value: number): void {
    if (this.values.get(id) === value) return;
    g.set(labels, value);
    this.values.set(id, value);
  }
}

function recordMetrics(m: ProxyMetrics, p: PublishedGauges, fs: FamilySync, o: RenderOptions, r: FamilySyncResult, seconds: number): void {
  const ip_family = fs.family;
  (r.full ? m.syncFullDuration : m.syncPartialDuration).observe({ ip_family }, seconds);
  p.set(m.iptablesRulesLast, 'last/nat', { table: 'nat', ip_family }, r.written.nat);
  p.set(m.iptablesRulesLast, 'last/filter', { table: 'filter', ip_family }, r.written.filter);
  const t = fs.totals(o);
  p.set(m.iptablesRulesTotal, 'total/nat', { table: 'nat', ip_family }, t.nat);
  p.set(m.iptablesRulesTotal, 'total/filter', { table: 'filter', ip_family }, t.filter);
  p.set(m.noLocalEndpoints, 'nolocal/internal', { traffic_policy: 'internal', ip_family }, t.noLocalInternal);
  p.set(m.noLocalEndpoints, 'nolocal/external', { traffic_policy: 'external', ip_family }, t.noLocalExternal);
}

/** Both families, each read fresh from the kernel so it works in a new process. */
async function cleanupAll(runner: IptablesRunner, log: Logger): Promise<CleanupReport> {
  const failures: string[] = [];
  const removed = { chains: 0, rules: 0 };
  for (const family of ['IPv4', 'IPv6'] as const) {
    let saved: string;
    try {
      saved = await runner.save(family);
    } catch (e) {
      // A host without (ip6)tables for a family has nothing of ours in it.
      log.warn('iptables-save failed; nothing to clean up for this family', { ipFamily: family, err: e });
      continue;
    }
    try {
      const payload = buildCleanupPayload(parseSave(saved));
      if (payload !== '') await runner.restore(family, payload);
      const n = countCleanupPayload(payload);
      removed.chains += n.chains;
      removed.rules += n.rules;
      log.info('iptables cleanup done', { ipFamily: family, removedLines: payload.split('\n').length - 1 });
    } catch (e) {
      log.error('iptables cleanup failed', { ipFamily: family, err: e });
      failures.push(`${family}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (failures.length) throw new Error(`iptables cleanup failed: ${failures.join('; ')}`);
  return { removed };
}

// The nftables Dataplane: per family, render (reusing unchanged service ports), plan the
// difference from the record (partial) or from a dump of our table (full), commit it over
// netlink, then update metrics and clear stale UDP/SCTP conntrack entries. Any failure throws
// (the runner retries) and forces the next sync of that family to be full.

import type { ProxyConfig } from '../../proxy/config/types.js';
import type { Logger } from '../../proxy/log.js';
import type { IPFamily, ProxyState } from '../../proxy/model/types.js';
import { hostAddressReader, type HostAddresses } from '../../proxy/node-ips.js';
import { throughputGc } from '../../proxy/throughput-gc.js';
import type { ProxyMetrics } from '../../sync/metrics.js';
import type { CleanupReport, Dataplane, SyncRequest, SyncResult } from '../dataplane.js';
import type { Conntrack } from '../shared/conntrack.js';
import { executeConntrackPlan, planConntrackCleanup } from '../shared/conntrack-plan.js';
import { deleteOurTables } from './cleanup.js';
import { describeUnit } from './describe.js';
import { NftFamilySync, type NftSyncResult } from './family-sync.js';
import { nftMetrics } from './metrics.js';
import type { NftClient } from './netlink/types.js';
import { buildNftOptions, type NftRenderOptions } from './options.js';
import { TABLE } from './names.js';
import { dumpToJson } from './trace/dump-json.js';

export interface NftDataplaneOptions {
  readonly config: ProxyConfig;
  readonly client: NftClient;
  readonly conntrack: Conntrack;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly families: IPFamily[];
  readonly nodeIPs?: () => string[];
  readonly localAddresses?: () => string[];
  /** Ops per transaction of a large sync (see family-sync.ts). */
  readonly batchOps?: number;
  /** Runs a full sync with V8's heap tuned for throughput (proxy/throughput-gc.ts). */
  readonly gc?: { during<T>(run: () => Promise<T>): Promise<T> };
}

export function createNftablesDataplane(opts: NftDataplaneOptions): Dataplane {
  const log = opts.logger.with({ mode: 'nftables' });
  const m = nftMetrics(opts.metrics.registry);
  const families = opts.families.map((f) => new NftFamilySync(f, opts.client, log.with({ ipFamily: f }), opts.batchOps));
  const gc = opts.gc ?? throughputGc;
  let lastState: ProxyState | undefined;
  const lastTotals = new Map<IPFamily, ReturnType<NftFamilySync['totals']> & { kernelSeconds: number }>();

  // The options of the last sync per family with the inputs they came from: rebuilt only when the
  // node object or an address list changes, since building them (and their fingerprint, which
  // decides whether a sync must be full) was a tenth of a one-endpoint change's own work.
  const optionsCache = new Map<IPFamily, { node: ProxyState['node']; inputs: string; options: NftRenderOptions }>();
  // An unset --nodeport-addresses is `primary` in this mode (buildNftOptions): no local list read.
  const hostAddresses = hostAddressReader({ selection: opts.config.nodePortAddresses.length === 0 ? ['primary'] : opts.config.nodePortAddresses, nodeIPs: opts.nodeIPs, localAddresses: opts.localAddresses });
  const optionsFor = (state: ProxyState, family: IPFamily, host: HostAddresses): NftRenderOptions => {
    const nodeIPs = host.nodeIPs ?? state.node.addresses;
    const local = host.local;
    const inputs = `${nodeIPs.join(',')}|${local.join(',')}`;
    const hit = optionsCache.get(family);
    if (hit && hit.node === state.node && hit.inputs === inputs) return hit.options;
    const options = buildNftOptions({ config: opts.config, node: state.node, family, nodeIPs, localAddresses: local });
    optionsCache.set(family, { node: state.node, inputs, options });
    return options;
  };

  const isFull = (fs: NftFamilySync, req: SyncRequest, o: NftRenderOptions): boolean => req.full || req.changes.nodeChanged || fs.needsFull(o);

  /** One family's sync, with its own duration (the sync loop files it under that family). */
  async function syncFamily(fs: NftFamilySync, req: SyncRequest, host: HostAddresses): Promise<NftSyncResult & { seconds: number }> {
    const o = optionsFor(req.state, fs.family, host);
    const full = isFull(fs, req, o);
    const start = performance.now();
    try {
      const r = full ? await fs.full(req.state, o, req.signal) : await fs.partial(req.state, req.changes.changed, o, req.signal);
      const seconds = (performance.now() - start) / 1000;
      const ip_family = fs.family;
      (r.full ? opts.metrics.syncFullDuration : opts.metrics.syncPartialDuration).observe({ ip_family }, seconds);
      const t = fs.totals();
      // Gauges are set only when their value moved: prom-client's labelled set hashes the labels
      // each time, a visible share of a one-endpoint change for values that rarely change.
      const last = lastTotals.get(ip_family);
      const kernelSeconds = r.kernelMs / 1000;
      if (last?.chains !== t.chains) m.objects.set({ kind: 'chains', ip_family }, t.chains);
      if (last?.rules !== t.rules) m.objects.set({ kind: 'rules', ip_family }, t.rules);
      if (last?.elements !== t.elements) m.objects.set({ kind: 'elements', ip_family }, t.elements);
      if (last?.kernelSeconds !== kernelSeconds) m.kernelSeconds.set({ ip_family }, kernelSeconds);
      if (last?.noLocalInternal !== t.noLocalInternal) opts.metrics.noLocalEndpoints.set({ traffic_policy: 'internal', ip_family }, t.noLocalInternal);
      if (last?.noLocalExternal !== t.noLocalExternal) opts.metrics.noLocalEndpoints.set({ traffic_policy: 'external', ip_family }, t.noLocalExternal);
      lastTotals.set(ip_family, { ...t, kernelSeconds });
      return { ...r, seconds };
    } catch (e) {
      fs.markInconsistent();
      if (req.signal?.aborted) {
        log.info('nftables sync stopped between two transactions: the daemon is stopping', { ipFamily: fs.family, full });
        throw e;
      }
      m.syncFailures.inc({ ip_family: fs.family });
      log.error('nftables sync failed; next sync will be full', { ipFamily: fs.family, full, err: e });
      throw e;
    }
  }

  async function syncAll(req: SyncRequest, host: HostAddresses): Promise<SyncResult> {
    const results: (NftSyncResult & { seconds: number })[] = [];
    const familySeconds = new Map<IPFamily, number>();
    for (const fs of families) {
      req.signal?.throwIfAborted();
      const r = await syncFamily(fs, req, host);
      results.push(r);
      familySeconds.set(fs.family, r.seconds);
    }
    const full = results.some((r) => r.full);
    const keys = full ? new Set([...req.state.services.keys(), ...(lastState?.services.keys() ?? [])]) : req.changes.changed;
    const ctOps = planConntrackCleanup(lastState, req.state, keys, opts.families);
    const ctErrors = await executeConntrackPlan(opts.conntrack, ctOps);
    for (const err of ctErrors) log.warn('conntrack cleanup failed', { err });
    lastState = req.state;
    const sum = (f: (r: NftSyncResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    return {
      full,
      familySeconds,
      stats: {
        ops: sum((r) => r.ops),
        bytes: sum((r) => r.bytes),
        kernelMs: Math.round(sum((r) => r.kernelMs) * 1000) / 1000,
        dumpMs: Math.round(sum((r) => r.dumpMs) * 1000) / 1000,
        dumps: sum((r) => r.dumps),
        transactions: sum((r) => r.transactions),
        servicePortsChanged: sum((r) => r.servicesChanged),
        conntrackOps: ctOps.length,
        tableMissing: results.filter((r) => r.tableMissing).length,
      },
    };
  }

  return {
    mode: 'nftables',
    async sync(req: SyncRequest): Promise<SyncResult> {
      const host = hostAddresses();
      // A full sync renders and plans every service port: the burst proxy/throughput-gc.ts is for.
      const full = families.some((fs) => isFull(fs, req, optionsFor(req.state, fs.family, host)));
      return full ? gc.during(() => syncAll(req, host)) : syncAll(req, host);
    },
    async cleanup(): Promise<CleanupReport> {
      const tables = await deleteOurTables(opts.client, log, (family) => m.cleanupFailures.inc({ ip_family: family === 'ip' ? 'IPv4' : 'IPv6' }));
      return { removed: { tables } };
    },
    async close(): Promise<void> {
      await opts.client.close();
    },
    /** For `trace`: our table as the kernel dumps it now (not the record), as JSON. */
    async rules(family: IPFamily): Promise<string | undefined> {
      const d = await opts.client.dumpTable(family === 'IPv4' ? 'ip' : 'ip6', TABLE);
      return d ? dumpToJson(d) : undefined;
    },
    async describe(key: string): Promise<unknown> {
      return {
        mode: 'nftables',
        service: key,
        families: families.map((fs) => {
          const u = fs.describe(key);
          const shared = fs.sharedSets();
          return { family: fs.family, table: `${fs.nfamily} kube-proxy`, ...(u ? (describeUnit(u, shared) as object) : { chains: {}, maps: {} }) };
        }),
      };
    },
  };
}

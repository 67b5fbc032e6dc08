// nftables mode's own metrics, upstream's names (pkg/proxy/metrics): sync and cleanup failures per
// IP family, plus (ours) what the table holds. Registered on the daemon's registry on first use, so
// sync/metrics.ts stays mode-agnostic.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface NftMetrics {
  readonly syncFailures: Counter<'ip_family'>;
  readonly cleanupFailures: Counter<'ip_family'>;
  readonly objects: Gauge<'kind' | 'ip_family'>;
  readonly kernelSeconds: Gauge<'ip_family'>;
}

const cache = new WeakMap<Registry, NftMetrics>();

export function nftMetrics(registry: Registry): NftMetrics {
  const have = cache.get(registry);
  if (have) return have;
  const registers = [registry];
  const m: NftMetrics = {
    syncFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
      help: 'Cumulative proxy nftables sync failures',
      labelNames: ['ip_family'],
      registers,
    }),
    cleanupFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total',
      help: 'Cumulative proxy nftables cleanup failures',
      labelNames: ['ip_family'],
      registers,
    }),
    objects: new Gauge({
      name: 'kubeproxy_ts_nftables_objects',
      help: 'Chains, rules and set elements in our nftables table',
      labelNames: ['kind', 'ip_family'],
      registers,
    }),
    kernelSeconds: new Gauge({
      name: 'kubeproxy_ts_nftables_last_commit_kernel_seconds',
      help: 'Time spent inside the netlink commits of the last sync',
      labelNames: ['ip_family'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}

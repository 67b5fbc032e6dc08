// Prometheus metrics under upstream kube-proxy's names, types, labels and buckets
// (pkg/proxy/metrics/metrics.go). One injected registry object, not globals, so tests and several
// daemons in one process never share counters.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** ExponentialBuckets(0.001, 2, 15): 1 ms doubling to 16.384 s. */
export const SYNC_BUCKETS: readonly number[] = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by 30 (upstream's network programming buckets). */
export const NETWORK_PROGRAMMING_BUCKETS: readonly number[] = [
  0.25,
  0.5,
  ...Array.from({ length: 59 }, (_, i) => i + 1),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

export class ProxyMetrics {
  readonly registry: Registry;
  readonly syncDuration: Histogram<'ip_family'>;
  readonly syncFullDuration: Histogram<'ip_family'>;
  readonly syncPartialDuration: Histogram<'ip_family'>;
  readonly networkProgrammingDuration: Histogram<'ip_family'>;
  readonly lastSyncTimestamp: Gauge<'ip_family'>;
  readonly lastQueuedTimestamp: Gauge<'ip_family'>;
  readonly serviceChangesTotal: Counter;
  readonly serviceChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;
  readonly endpointChangesPending: Gauge;
  readonly noLocalEndpoints: Gauge<'traffic_policy' | 'ip_family'>;
  readonly iptablesRestoreFailures: Counter<'ip_family'>;
  readonly iptablesPartialRestoreFailures: Counter<'ip_family'>;
  readonly iptablesRulesTotal: Gauge<'table' | 'ip_family'>;
  readonly iptablesRulesLast: Gauge<'table' | 'ip_family'>;
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;
  /** Not upstream: objects the model rejected, by kind (a dashboard-friendly "event" count). */
  readonly rejectedObjectsTotal: Counter<'kind'>;
  /** Not upstream: sync failures by mode, so a failing dataplane shows up on a dashboard. */
  readonly syncFailuresTotal: Counter<'mode'>;
  /** IPVS mode (not upstream): what is programmed. */
  readonly ipvsVirtualServers: Gauge<'ip_family'>;
  readonly ipvsRealServers: Gauge<'ip_family'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    const h = <L extends string>(name: string, help: string, labels: L[], buckets: readonly number[]) =>
      new Histogram<L>({ name, help, labelNames: labels, buckets: [...buckets], registers });
    const g = <L extends string>(name: string, help: string, labels: L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers });
    const c = <L extends string>(name: string, help: string, labels: L[]) =>
      new Counter<L>({ name, help, labelNames: labels, registers });

    this.syncDuration = h('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', ['ip_family'], SYNC_BUCKETS);
    this.syncFullDuration = h('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', ['ip_family'], SYNC_BUCKETS);
    this.syncPartialDuration = h('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', ['ip_family'], SYNC_BUCKETS);
    this.networkProgrammingDuration = h('kubeproxy_network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', ['ip_family'], NETWORK_PROGRAMMING_BUCKETS);
    this.lastSyncTimestamp = g('kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced', ['ip_family']);
    this.lastQueuedTimestamp = g('kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued', ['ip_family']);
    this.serviceChangesTotal = c('kubeproxy_sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes', []);
    this.serviceChangesPending = g('kubeproxy_sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes', []);
    this.endpointChangesTotal = c('kubeproxy_sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes', []);
    this.endpointChangesPending = g('kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes', []);
    this.noLocalEndpoints = g('kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'Number of services with a Local traffic policy and no endpoints', ['traffic_policy', 'ip_family']);
    this.iptablesRestoreFailures = c('kubeproxy_sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures', ['ip_family']);
    this.iptablesPartialRestoreFailures = c('kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total', 'Cumulative proxy iptables partial restore failures', ['ip_family']);
    this.iptablesRulesTotal = g('kubeproxy_sync_proxy_rules_iptables_total', 'Total number of iptables rules owned by kube-proxy', ['table', 'ip_family']);
    this.iptablesRulesLast = g('kubeproxy_sync_proxy_rules_iptables_last', 'Number of iptables rules written by kube-proxy in last sync', ['table', 'ip_family']);
    this.healthzTotal = c('kubeproxy_proxy_healthz_total', 'Cumulative proxy healthz HTTP status', ['code']);
    this.livezTotal = c('kubeproxy_proxy_livez_total', 'Cumulative proxy livez HTTP status', ['code']);
    this.rejectedObjectsTotal = c('kubeproxy_ts_rejected_objects_total', 'Objects with a field that failed validation (that field is ignored; a Service without a usable cluster IP is skipped)', ['kind']);
    this.syncFailuresTotal = c('kubeproxy_ts_sync_failures_total', 'Failed dataplane syncs', ['mode']);
    this.ipvsVirtualServers = g('kubeproxy_ts_ipvs_virtual_servers', 'IPVS virtual servers programmed by this proxy', ['ip_family']);
    this.ipvsRealServers = g('kubeproxy_ts_ipvs_real_servers', 'IPVS real servers programmed by this proxy', ['ip_family']);

    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

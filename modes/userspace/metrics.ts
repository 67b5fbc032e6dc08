// Userspace-mode metrics, registered on the daemon's ProxyMetrics registry. Gauges of live
// connections/sessions are read from the listeners at scrape time (collect), so the hot path only
// bumps plain numbers and nothing has to be un-counted when a service port disappears.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface UserspaceMetrics {
  readonly bytes: Counter<'service_port' | 'direction'>;
  readonly dialErrors: Counter<'service_port'>;
  readonly noEndpoint: Counter<'service_port' | 'protocol'>;
  /** Endpoints ejected after a dial timeout (outliers.ts); upstream has no such metric. */
  readonly ejections: Counter<'service_port'>;
  /** Set by the dataplane: current values per service port, read on each scrape. */
  setLiveSource(source: () => Iterable<LiveCount>): void;
}

export interface LiveCount {
  readonly key: string;
  readonly tcpConnections: number;
  readonly udpSessions: number;
  readonly ejectedEndpoints: number;
}

const NAMES = {
  tcp: 'kubeproxy_userspace_active_tcp_connections',
  udp: 'kubeproxy_userspace_active_udp_sessions',
  bytes: 'kubeproxy_userspace_bytes_proxied_total',
  dialErrors: 'kubeproxy_userspace_endpoint_dial_errors_total',
  noEndpoint: 'kubeproxy_userspace_no_endpoint_total',
  ejections: 'kubeproxy_ts_userspace_endpoint_ejections_total',
  ejected: 'kubeproxy_ts_userspace_ejected_endpoints',
} as const;

export function createUserspaceMetrics(registry: Registry): UserspaceMetrics {
  let source: () => Iterable<LiveCount> = () => [];
  // Several dataplanes may share one registry in tests; re-registering a name would throw.
  for (const n of Object.values(NAMES)) if (registry.getSingleMetric(n)) registry.removeSingleMetric(n);
  const registers = [registry];
  new Gauge<'service_port'>({
    name: NAMES.tcp,
    help: 'TCP connections currently proxied by the userspace proxy',
    labelNames: ['service_port'],
    registers,
    collect() {
      this.reset();
      for (const c of source()) this.set({ service_port: c.key }, c.tcpConnections);
    },
  });
  new Gauge<'service_port'>({
    name: NAMES.udp,
    help: 'UDP client sessions currently held by the userspace proxy',
    labelNames: ['service_port'],
    registers,
    collect() {
      this.reset();
      for (const c of source()) this.set({ service_port: c.key }, c.udpSessions);
    },
  });
  new Gauge<'service_port'>({
    name: NAMES.ejected,
    help: 'Endpoints the userspace proxy currently skips for new connections after a dial timeout',
    labelNames: ['service_port'],
    registers,
    collect() {
      this.reset();
      for (const c of source()) if (c.ejectedEndpoints > 0) this.set({ service_port: c.key }, c.ejectedEndpoints);
    },
  });
  return {
    ejections: new Counter({
      name: NAMES.ejections,
      help: 'Endpoints ejected by the userspace proxy (skipped for new connections for a while) after a dial timeout',
      labelNames: ['service_port'],
      registers,
    }),
    bytes: new Counter({
      name: NAMES.bytes,
      help: 'Bytes copied by the userspace proxy (to_endpoint, to_client), counted when a connection or session ends',
      labelNames: ['service_port', 'direction'],
      registers,
    }),
    dialErrors: new Counter({
      name: NAMES.dialErrors,
      help: 'Failed connection attempts from the userspace proxy to endpoints',
      labelNames: ['service_port'],
      registers,
    }),
    noEndpoint: new Counter({
      name: NAMES.noEndpoint,
      help: 'Connections reset or datagrams dropped because no endpoint was reachable',
      labelNames: ['service_port', 'protocol'],
      registers,
    }),
    setLiveSource(s) {
      source = s;
    },
  };
}

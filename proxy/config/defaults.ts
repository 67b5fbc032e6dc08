// Upstream kube-proxy's defaults (pkg/proxy/apis/config/v1alpha1/defaults.go and options.go), plus a
// mutable "draft" view of ProxyConfig that the flag and file layers write into before it is frozen.

import type { ProxyConfig } from './types.js';

type DeepMutable<T> = T extends readonly (infer U)[]
  ? U[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;

/** ProxyConfig with every level writable; only the config layers use it. */
export type Draft = DeepMutable<ProxyConfig>;

export const DEFAULT_HEALTHZ_PORT = 10256;
export const DEFAULT_METRICS_PORT = 10249;

/** A fresh copy of the defaults (callers may mutate it). */
export function defaultConfig(): Draft {
  return {
    // Upstream's default is "", which means iptables on Linux.
    mode: 'iptables',
    kubeconfig: '',
    master: '',
    hostnameOverride: '',
    bindAddress: '0.0.0.0',
    healthzBindAddress: `0.0.0.0:${DEFAULT_HEALTHZ_PORT}`,
    metricsBindAddress: `127.0.0.1:${DEFAULT_METRICS_PORT}`,
    clusterCIDRs: [],
    // Upstream's default is "", which means ClusterCIDR.
    detectLocalMode: 'ClusterCIDR',
    detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
    nodePortAddresses: [],
    oomScoreAdj: -999,
    configSyncPeriodMs: 15 * 60_000,
    featureGates: {},
    useEndpoints: false,
    iptables: {
      masqueradeBit: 14,
      masqueradeAll: false,
      localhostNodePorts: true,
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 1_000,
    },
    nftables: {
      masqueradeBit: 14,
      masqueradeAll: false,
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 1_000,
    },
    ipvs: {
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 0,
      // Upstream's default is "", which the ipvs proxier turns into round-robin.
      scheduler: 'rr',
      excludeCIDRs: [],
      strictARP: false,
      tcpTimeoutMs: 0,
      tcpFinTimeoutMs: 0,
      udpTimeoutMs: 0,
      gracefulTerminationPeriodMs: 60_000,
    },
    conntrack: {
      maxPerCore: 32768,
      min: 131072,
      tcpEstablishedTimeoutMs: 24 * 3600_000,
      tcpCloseWaitTimeoutMs: 3600_000,
      tcpBeLiberal: false,
      udpTimeoutMs: 0,
      udpStreamTimeoutMs: 0,
    },
    cleanup: false,
    logging: { format: 'text', verbosity: 0 },
  };
}

/** Deep copy so a frozen or shared config is never mutated through a draft. */
export function toDraft(config: ProxyConfig): Draft {
  return structuredClone(config) as Draft;
}

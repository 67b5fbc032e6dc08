// ProxyConfig rendered in upstream's KubeProxyConfiguration v1alpha1 shape, for /configz and
// --write-config-to. Durations become Go strings and unset lists become null, as upstream prints them,
// so output can be diffed against a real kube-proxy's and fed back through --config.

import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import { API_VERSION, KIND } from './file.js';
import type { ProxyConfig } from './types.js';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const listOrNull = (l: readonly string[]): Json => (l.length === 0 ? null : [...l]);

export function toKubeProxyConfiguration(c: ProxyConfig): { [k: string]: Json } {
  const d = formatDuration;
  const out: { [k: string]: Json } = {
    apiVersion: API_VERSION,
    kind: KIND,
    bindAddress: c.bindAddress,
    bindAddressHardFail: false,
    clientConnection: {
      acceptContentTypes: '',
      burst: 10,
      contentType: 'application/vnd.kubernetes.protobuf',
      kubeconfig: c.kubeconfig,
      qps: 5,
    },
    clusterCIDR: c.clusterCIDRs.join(','),
    configSyncPeriod: d(c.configSyncPeriodMs),
    conntrack: {
      maxPerCore: c.conntrack.maxPerCore,
      min: c.conntrack.min,
      tcpBeLiberal: c.conntrack.tcpBeLiberal,
      tcpCloseWaitTimeout: d(c.conntrack.tcpCloseWaitTimeoutMs),
      tcpEstablishedTimeout: d(c.conntrack.tcpEstablishedTimeoutMs),
      udpStreamTimeout: d(c.conntrack.udpStreamTimeoutMs),
      udpTimeout: d(c.conntrack.udpTimeoutMs),
    },
    detectLocal: {
      bridgeInterface: c.detectLocal.bridgeInterface,
      interfaceNamePrefix: c.detectLocal.interfaceNamePrefix,
    },
    detectLocalMode: c.detectLocalMode,
    enableProfiling: false,
    featureGates: { ...c.featureGates },
    healthzBindAddress: c.healthzBindAddress,
    hostnameOverride: c.hostnameOverride,
    iptables: {
      localhostNodePorts: c.iptables.localhostNodePorts,
      masqueradeAll: c.iptables.masqueradeAll,
      masqueradeBit: c.iptables.masqueradeBit,
      minSyncPeriod: d(c.iptables.minSyncPeriodMs),
      syncPeriod: d(c.iptables.syncPeriodMs),
    },
    nftables: {
      masqueradeAll: c.nftables.masqueradeAll,
      masqueradeBit: c.nftables.masqueradeBit,
      minSyncPeriod: d(c.nftables.minSyncPeriodMs),
      syncPeriod: d(c.nftables.syncPeriodMs),
    },
    ipvs: {
      excludeCIDRs: listOrNull(c.ipvs.excludeCIDRs),
      minSyncPeriod: d(c.ipvs.minSyncPeriodMs),
      scheduler: c.ipvs.scheduler,
      strictARP: c.ipvs.strictARP,
      syncPeriod: d(c.ipvs.syncPeriodMs),
      tcpFinTimeout: d(c.ipvs.tcpFinTimeoutMs),
      tcpTimeout: d(c.ipvs.tcpTimeoutMs),
      udpTimeout: d(c.ipvs.udpTimeoutMs),
    },
    logging: { format: c.logging.format, verbosity: c.logging.verbosity },
    metricsBindAddress: c.metricsBindAddress,
    mode: c.mode,
    nodePortAddresses: listOrNull(c.nodePortAddresses),
    oomScoreAdj: c.oomScoreAdj,
    portRange: '',
    showHiddenMetricsForVersion: '',
  };
  // Our extension is emitted only when used, so default output stays loadable by upstream.
  if (c.useEndpoints) out['useEndpoints'] = true;
  // Our own field, written only when it differs from upstream's fixed minute.
  if (c.ipvs.gracefulTerminationPeriodMs !== 60_000) {
    (out['ipvs'] as Record<string, unknown>)['gracefulTerminationPeriod'] = d(c.ipvs.gracefulTerminationPeriodMs);
  }
  return out;
}

/** The YAML --write-config-to writes. */
export function kubeProxyConfigurationYAML(c: ProxyConfig): string {
  return stringify(toKubeProxyConfiguration(c));
}

// The effective configuration of the daemon after defaults, the --config file and flags are merged.
// Durations are milliseconds. Field names follow KubeProxyConfiguration (v1alpha1) where one exists,
// so /configz reads like upstream's.

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables' | 'userspace' | 'noop';
export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
export type LoggingFormat = 'text' | 'json';

export interface ProxyConfig {
  readonly mode: ProxyMode;
  readonly kubeconfig: string;
  readonly master: string;
  readonly hostnameOverride: string;
  readonly bindAddress: string;
  readonly healthzBindAddress: string;
  /** Empty disables the metrics server. */
  readonly metricsBindAddress: string;
  /** Comma-separated dual-stack pair allowed; normalized to a list. */
  readonly clusterCIDRs: readonly string[];
  readonly detectLocalMode: DetectLocalMode;
  readonly detectLocal: { readonly bridgeInterface: string; readonly interfaceNamePrefix: string };
  /** CIDRs or the keywords 'primary' / 'all'; empty = all local addresses. */
  readonly nodePortAddresses: readonly string[];
  readonly oomScoreAdj: number;
  readonly configSyncPeriodMs: number;
  readonly featureGates: Readonly<Record<string, boolean>>;
  /** Use v1 Endpoints instead of discovery.k8s.io/v1 EndpointSlices (old clusters). */
  readonly useEndpoints: boolean;
  readonly iptables: {
    readonly masqueradeBit: number;
    readonly masqueradeAll: boolean;
    readonly localhostNodePorts: boolean;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
  };
  /** Upstream's nftables{} block. */
  readonly nftables: {
    readonly masqueradeBit: number;
    readonly masqueradeAll: boolean;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
  };
  readonly ipvs: {
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
    readonly scheduler: string;
    readonly excludeCIDRs: readonly string[];
    readonly strictARP: boolean;
    readonly tcpTimeoutMs: number;
    readonly tcpFinTimeoutMs: number;
    readonly udpTimeoutMs: number;
    /** Ours: how long a removed real server with connections drains at weight 0 (upstream: 60 s). */
    readonly gracefulTerminationPeriodMs: number;
  };
  readonly conntrack: {
    /** 0 leaves the kernel's limit alone. */
    readonly maxPerCore: number;
    readonly min: number;
    readonly tcpEstablishedTimeoutMs: number;
    readonly tcpCloseWaitTimeoutMs: number;
    readonly tcpBeLiberal: boolean;
    readonly udpTimeoutMs: number;
    readonly udpStreamTimeoutMs: number;
  };
  readonly cleanup: boolean;
  readonly logging: { readonly format: LoggingFormat; readonly verbosity: number };
}

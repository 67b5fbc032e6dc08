// Feature gates kube-proxy knows about. Upstream rejects unknown gates; we only warn, because an
// upstream DaemonSet may name gates from a newer release and should still start. None of these
// change our behaviour yet except where a dataplane reads them from config.featureGates.

export const KNOWN_FEATURE_GATES: readonly string[] = [
  'AllAlpha',
  'AllBeta',
  'EndpointSliceProxying',
  'EndpointSliceTerminatingCondition',
  'IPv6DualStack',
  'KubeProxyDrainingTerminatingNodes',
  'KubeProxyIPVS',
  'LoadBalancerIPMode',
  'MinimizeIPTablesRestore',
  'MultiCIDRServiceAllocator',
  'NFTablesProxyMode',
  'PreferSameTrafficDistribution',
  'ProxyTerminatingEndpoints',
  'ServiceInternalTrafficPolicy',
  'ServiceTrafficDistribution',
  'TopologyAwareHints',
  'ContextualLogging',
  'LoggingAlphaOptions',
  'LoggingBetaOptions',
  'ComponentSLIs',
];

const KNOWN = new Set(KNOWN_FEATURE_GATES);

/** Warnings for gates we do not recognise; `source` says where they came from (a flag or a field). */
export function unknownGateWarnings(gates: Readonly<Record<string, boolean>>, source: string): string[] {
  return Object.keys(gates)
    .filter((g) => !KNOWN.has(g))
    .map((g) => `unrecognized feature gate "${g}" in ${source}: ignored`);
}
